"""`kam-advisor run`: interactive and piped answering that saves every answer at once and resumes."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import questionnaire_cli
from kam_advisor.answers import interview
from kam_advisor.data import knowledge
from kam_advisor.data import rules
from kam_advisor.answers import loader

MINI = Path(__file__).resolve().parent / "fixtures" / "questionnaires" / "mini.yaml"
ROOT = Path(__file__).resolve().parent.parent


cli = questionnaire_cli


def answer(tmp_path, text, *extra, name=str(MINI), file="a.yaml"):
    path = tmp_path / file
    result = CliRunner().invoke(cli(), ["run", name, "--answers", str(path), *extra], input=text)
    return result, path


def saved(path) -> dict:
    return yaml.safe_load(path.read_text())["answers"]


@pytest.fixture(scope="module")
def mini():
    return loader.load(MINI, kb=knowledge.load_cached(), fact_specs=rules.load_fact_specs())


def test_a_piped_run_answers_every_type_and_writes_the_answers_file(tmp_path):
    result, path = answer(tmp_path, "partial # two plans exist\n3\ny\n2\n4\n1,2\nAcme Ltd\nna\n",
                          "--respondent", "Jo, CFO")
    assert result.exit_code == 0, result.output
    assert "All 8 questions answered" in result.output
    doc = yaml.safe_load(path.read_text())
    assert doc["questionnaire"] == "mini" and doc["respondent"] == "Jo, CFO"
    assert doc["answers"] == {
        "plans": {"value": "partial", "note": "two plans exist"}, "pages": 3, "sponsor": "yes",
        "level": "enhanced", "brand": 4, "breakdown": ["product-group", "geography"], "customer": "Acme Ltd",
        "kas": "na"}
    assert "To assess: kam-advisor assess --answers" in result.output  # not a terminal: no question asked


def test_section_headings_and_progress_are_shown(tmp_path):
    result, _ = answer(tmp_path, "done\n2\ny\n")
    assert "== Basics ==" in result.output and "== Details ==" in result.output
    assert "[0/2 answered]  Q1 (plans)" in result.output  # pages is hidden until plans are answered
    assert "[1/3 answered]  Q2 (pages)" in result.output
    assert "[3/8 answered]  Q4 (level)" in result.output  # 'yes' revealed the Details section


def test_invalid_input_is_refused_with_the_reason_and_asked_again(tmp_path):
    result, path = answer(tmp_path, "maybe\ndone\n-1\nlots\n2\ny\n9\n1\n0\n1\n1\n\ns\nA\nAcme\n4\n")
    assert "! type 1 to 5, or one of: done, partial, not started, not applicable, don't know" in result.output
    assert "! Give a number of pages (must be at least 0)" in result.output
    assert "! expected a number" in result.output
    assert "! choose a number from 1 to 4" in result.output
    assert "! expected a whole number from 1 to 5" in result.output
    assert "! type an answer" in result.output
    assert "! this question needs an answer; it cannot be skipped" in result.output
    assert "! must be at least 2 characters" in result.output
    assert saved(path) == {"plans": "done", "pages": 2, "sponsor": "yes", "level": "commodity", "brand": 1,
                           "breakdown": ["product-group"], "customer": "Acme", "kas": 4}


def test_question_mark_shows_help_and_source(tmp_path):
    result, _ = answer(tmp_path, "?\n")
    assert "A key-account plan sets goal, critical success factors and actions." in result.output
    assert "source: Transitioning to KAM: audit and action checklist" in result.output
    assert ".txt" not in result.output


def test_b_goes_back_and_the_changed_answer_replaces_the_old_one(tmp_path):
    result, path = answer(tmp_path, "done\n2\nb\n5\nn\n")
    assert "current answer: 2 (Enter keeps it)" in result.output
    assert saved(path) == {"plans": "done", "pages": 5, "sponsor": "no"}


def test_b_on_the_first_question_says_so(tmp_path):
    result, _ = answer(tmp_path, "b\n")
    assert "! this is the first question" in result.output


def test_s_skips_as_dont_know_which_stays_distinct_from_not_applicable(tmp_path):
    result, path = answer(tmp_path, "s\ny\ns\ns\ns\nAcme\ns\n")
    assert saved(path) == {"plans": "dont_know", "sponsor": "yes", "level": "dont_know", "brand": "dont_know",
                           "breakdown": "dont_know", "customer": "Acme", "kas": "dont_know"}
    assert "Q2 (pages)" not in result.output  # don't know about plans hides the follow-up


def test_resume_starts_at_the_first_unanswered_question_and_keeps_earlier_answers(tmp_path):
    first, path = answer(tmp_path, "done\n3\n")
    assert first.exit_code == 0
    assert "Input ended. 2 of 3 answers are saved" in first.output
    assert saved(path) == {"plans": "done", "pages": 3}
    second, _ = answer(tmp_path, "n\n")
    assert second.exit_code == 0
    assert "Resuming" in second.output and "2 of 3 questions answered" in second.output
    assert "Q1 (plans)" not in second.output and "Q3 (sponsor)" in second.output
    assert saved(path) == {"plans": "done", "pages": 3, "sponsor": "no"}


def test_enter_keeps_an_answer_and_answers_to_now_hidden_questions_are_kept(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("questionnaire: mini\nanswers:\n  plans: done\n  pages: 7\n")
    result, _ = answer(tmp_path, "b\nb\nnot started\nn\n")
    assert result.exit_code == 0
    # pages is hidden once plans are 'not started', but what the user typed is never thrown away
    assert saved(path) == {"plans": "not_started", "pages": 7, "sponsor": "no"}


def test_ctrl_c_loses_no_answer(tmp_path, mini):
    path = tmp_path / "a.yaml"
    replies = iter(["partial", "4"])

    def read(prompt):
        try:
            return next(replies)
        except StopIteration:
            raise KeyboardInterrupt from None

    out = []
    console = interview.Console(read=read, write=out.append, interactive=True)
    header = {"organisation": "Acme", "date": "2026-11-01"}  # given: the terminal asks only the questions
    assert interview.run(mini, path, respondent="Jo", header=header, console=console) == 130
    assert any("Stopped. 2 of 3 answers are saved" in line for line in out)
    assert saved(path) == {"plans": "partial", "pages": 4}


def test_an_invalid_existing_answers_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "a.yaml"
    original = "questionnaire: mini\nanswers:\n  plans: mostly\n"
    path.write_text(original)
    result, _ = answer(tmp_path, "done\n")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"kam-advisor: {path}:3: answer 'plans': expected one of done, partial, " \
                                    "not_started, na, dont_know (got 'mostly')"
    assert path.read_text() == original


def test_answers_for_another_questionnaire_are_refused(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("questionnaire: readiness\nanswers: {}\n")
    result, _ = answer(tmp_path, "done\n")
    assert result.exit_code == 2
    assert "these answers are for questionnaire 'readiness', not 'mini'" in result.stderr


def test_a_missing_answers_folder_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli(), ["run", str(MINI), "--answers", str(tmp_path / "nope" / "a.yaml")],
                                input="done\n")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"kam-advisor: {tmp_path / 'nope'}: folder does not exist"


def test_assess_hands_the_finished_file_to_the_caller(tmp_path, mini):
    path, out = tmp_path / "a.yaml", []
    replies = iter(["not_started", "4", "n"])
    console = interview.Console(read=lambda prompt: next(replies), write=out.append, interactive=False)
    seen = []
    code = interview.run(mini, path, assess=True, console=console, on_finish=lambda p: seen.append(p) or "ASSESSED")
    assert code == 0
    assert seen == [path]
    assert "ASSESSED" in out


def test_assess_without_an_assessor_says_what_to_run(tmp_path, mini):
    path, out = tmp_path / "a.yaml", []
    replies = iter(["not_started", "4", "n"])
    console = interview.Console(read=lambda prompt: next(replies), write=out.append, interactive=False)
    assert interview.run(mini, path, assess=True, console=console) == 0
    assert any(f"To assess: kam-advisor assess --answers {path}" in line for line in out)


def test_the_default_answers_file_is_named_after_the_questionnaire(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli(), ["run", str(MINI)], input="not_started\n")
    assert result.exit_code == 0
    assert saved(tmp_path / "mini-answers.yaml") == {"plans": "not_started"}


def test_a_real_questionnaire_runs_through_piped_input(tmp_path):
    lines = ["done", "partial", "partial", "y", "n", "done", "0"]
    result, path = answer(tmp_path, "\n".join(lines) + "\n", name="readiness")
    assert result.exit_code == 0
    assert saved(path) == {"driver": "done", "strategy": "partial", "champion": "partial", "sponsor": "yes",
                           "sales_owned": "no", "selection": "done", "ka_count": 0}
    assert "Q8" not in result.output  # commodity_accounts is hidden when there are no key accounts


# ------------------------------------------------------------------ real processes

SCRIPT = """
import sys, click
from kam_advisor.cli.questionnaire import run
@click.group()
@click.pass_context
def main(ctx):
    ctx.obj = {}
main.add_command(run)
main(sys.argv[1:], prog_name="kam-advisor")
"""


class Terminal:
    """A child process on a real pseudo-terminal (stdlib pty), read until expected text appears."""

    def __init__(self, args, cwd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.chdir(cwd)
            os.environ["COLUMNS"] = "120"
            os.execv(sys.executable, [sys.executable, "-c", SCRIPT, *args])
        self.seen = ""
        self.pos = 0  # expect() looks only at output after the previous match

    def expect(self, text, timeout=20.0):
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.pos:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"did not see {text!r}; got:\n{self.seen[-2000:]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {text!r}; got:\n{self.seen[-2000:]}")
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        self.pos = self.seen.index(text, self.pos) + len(text)
        return self

    def send(self, text):
        os.write(self.fd, text.encode())
        return self

    def wait(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:  # drain output so the child never blocks on a full terminal buffer
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.seen += os.read(self.fd, 4096).decode("utf-8", "replace").replace("\r\n", "\n")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"child did not finish; output:\n{self.seen[-1500:]!r}")


def test_a_real_terminal_run_survives_ctrl_c_resumes_and_offers_to_assess(tmp_path):
    answers = tmp_path / "a.yaml"
    args = ["run", str(MINI), "--answers", str(answers)]
    term = Terminal(args, tmp_path)
    # at a terminal, what the report's cover needs is asked first and kept in the file
    term.expect("Organisation being assessed: ").send("Acme Components\n")
    term.expect("Your name and role: ").send("Jo Ng, Sales Director\n")
    term.expect("Date of the assessment [").expect("]: ").send("2026-13-01\n")
    term.expect("expected a date as YYYY-MM-DD").expect("]: ").send("2026-11-02\n")
    term.expect("Q1 (plans)").expect("> ").send("partial\n")
    term.expect("Q2 (pages)").expect("> ").send("2\n")
    term.expect("Q3 (sponsor)").expect("> ")
    time.sleep(0.3)  # let the child settle into reading the line before the interrupt
    term.send("\x03")  # Ctrl-C at the terminal
    assert term.wait() == 130
    assert "Stopped. 2 of 3 answers are saved" in term.seen
    assert saved(answers) == {"plans": "partial", "pages": 2}

    term = Terminal(args, tmp_path)
    term.expect("Resuming").expect("Q3 (sponsor)").expect("> ").send("n\n")
    term.expect("Assess now? [Y/n]").send("n\n")
    assert term.wait() == 0
    assert "Q1 (plans)" not in term.seen
    assert "To assess: kam-advisor assess --answers a.yaml" in term.seen
    assert saved(answers) == {"plans": "partial", "pages": 2, "sponsor": "no"}
    doc = yaml.safe_load(answers.read_text())
    assert (doc["organisation"], doc["respondent"], str(doc["date"])) == (
        "Acme Components", "Jo Ng, Sales Director", "2026-11-02")
    assert "Organisation being assessed" not in term.seen  # asked once, kept in the file


def test_a_killed_process_loses_no_answer(tmp_path):
    answers = tmp_path / "a.yaml"
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, "run", str(MINI), "--answers", str(answers)],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        for line, expected in (("done", {"plans": "done"}), ("3", {"plans": "done", "pages": 3})):
            child.stdin.write(f"{line}\n".encode())
            child.stdin.flush()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if answers.exists() and (yaml.safe_load(answers.read_text()) or {}).get("answers") == expected:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError(f"answer {line!r} was not saved")
        child.kill()  # SIGKILL: no handler runs
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert saved(answers) == {"plans": "done", "pages": 3}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_mistyped_status_at_the_prompt_says_which_was_meant(tmp_path):
    result, _ = answer(tmp_path, "not startd\ndone\n2\ny\n")
    assert ("! type 1 to 5, or one of: done, partial, not started, not applicable, don't know; "
            "did you mean 'not started'?") in result.output
