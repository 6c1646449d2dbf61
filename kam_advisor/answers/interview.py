"""Running a questionnaire at a terminal or from piped input, saving every answer at once.

One question at a time, with its section heading and progress (answered / visible
questions). At the prompt: an answer (numbers pick choices), ``?`` for help, ``b`` to go back,
``s`` to skip (recorded as "don't know"), Enter to keep the current answer. On questions that
invite evidence, text after `` # `` is kept as a note. Invalid input is refused with the reason
and asked again.

A second run on the same answers file is refused while the first goes on (an advisory lock).
Every accepted answer is written to the answers file at once, by atomic replacement (with
Ctrl-C, hang-up and terminate held until the file is in place), so Ctrl-C, a closed terminal
or a killed process loses nothing; running again with the same file resumes at the first
unanswered question. Piped input works the same way, one answer per
line; input that ends early leaves a valid, resumable file.

This module owns the session (answers file in, answers file out) and the dialogue; parsing
and checking answers belong to :mod:`kam_advisor.answers.check` (reached as :mod:`kam_advisor.answers.writer`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import signal
import sys
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from kam_advisor.answers import questionnaire as qmodel
from kam_advisor.answers import check
from kam_advisor.answers import evidence
from kam_advisor.data import vocab
from kam_advisor.answers import writer
from kam_advisor.data.errors import DataError, display_path
from kam_advisor.data.files import atomic_write, check_output, exclusive
from kam_advisor.data.yamlio import plain

COMMANDS = "? help · b back · s skip (don't know) · Enter keeps the current answer"


@contextlib.contextmanager
def _signals_held():
    """Hold Ctrl-C, hang-up and terminate while the answers file is replaced; deliver them after."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} if hasattr(signal, "SIGHUP") else set()
    if not held or not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclass
class Session:
    """The answers of one respondent to one questionnaire, bound to the file that holds them."""

    q: qmodel.Questionnaire
    path: Path
    answers: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False

    @classmethod
    def open(cls, q: qmodel.Questionnaire, path: str | Path, respondent: str | None = None,
             header: Mapping[str, str] | None = None) -> "Session":
        """Open (or start) the answers file; an invalid existing file is refused, never overwritten.

        ``header`` fields (organisation, date) given on the command line replace the file's."""
        path = Path(path)
        session = cls(q=q, path=path)
        if path.exists():
            af, data = check.read_answers(path)
            errors = check.validate_answers(q, af, data=data)
            if errors:
                raise errors[0]
            session.answers, _ = check.canonical_answers(q, af)
            session.notes = dict(af.notes)
            session.header = {k: plain(v) for k, v in data.items() if k not in ("answers", "notes")}
            session.resumed = True
        given = {k: v for k, v in {**(header or {}), "respondent": respondent}.items() if v}
        session.header.update(given)
        if not path.exists() or given:
            session.save()
        return session

    def set_header(self, key: str, value: str) -> None:
        self.header[key] = value
        self.save()

    def save(self) -> None:
        text = writer.answers_document(self.q, self.answers, self.notes, self.header)
        with _signals_held():
            atomic_write(self.path, text)

    def visible(self) -> list[qmodel.Question]:
        return check.visible_questions(self.q, self.answers)

    def progress(self) -> tuple[int, int]:
        shown = self.visible()
        return sum(1 for x in shown if self.answers.get(x.id) is not None), len(shown)

    def next_unanswered(self, after: str | None = None) -> str | None:
        """The first visible unanswered question after ``after`` (wrapping to the start), or None."""
        shown = [x.id for x in self.visible()]
        start = shown.index(after) + 1 if after in shown else 0
        for qid in shown[start:] + shown[:start]:
            if self.answers.get(qid) is None:
                return qid
        return None

    def previous(self, qid: str) -> str | None:
        shown = [x.id for x in self.visible()]
        if qid not in shown:
            return None
        index = shown.index(qid)
        return shown[index - 1] if index > 0 else None

    def record(self, qid: str, value: Any, note: str | None = None) -> None:
        self.answers[qid] = value
        if note:
            self.notes[qid] = note
        self.save()


@dataclass
class Console:
    """Where the dialogue reads and writes; tests may pass their own."""

    read: Callable[[str], str]
    write: Callable[[str], None]
    interactive: bool


def terminal_console() -> Console:
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        try:  # line editing at a real terminal
            import readline  # noqa: F401
        except ImportError:  # pragma: no cover - platform without readline
            pass
    return Console(read=input, write=lambda text: print(text, flush=True), interactive=interactive)


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(textwrap.fill(p, 88, initial_indent=indent, subsequent_indent=indent)
                     for p in str(text).strip().split("\n"))


def _show_answer(question: qmodel.Question, value: Any) -> str:
    if value is None:
        return "-"
    if value in vocab.SPECIAL:
        return vocab.LABELS[value]
    if question.type == "status":
        return vocab.LABELS.get(value, value)
    if question.type in ("single_choice", "multi_choice"):
        labels = {c.value: c.label for c in question.choices}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels[v] for v in values) if values else "none"
    return evidence.show_value(value)


def _options(question: qmodel.Question) -> list[str]:
    if question.type == "status":
        return ["  " + "   ".join(f"{n} {vocab.LABELS[s]}" for n, s in enumerate(vocab.STATUSES, 1))]
    if question.type in ("single_choice", "multi_choice"):
        lines = [f"  {n} {c.label}" for n, c in enumerate(question.choices, 1)]
        if question.type == "multi_choice":
            lines.append("  (several: numbers separated by commas, e.g. 1,3; or 'none')")
        return lines
    if question.type == "yes_no":
        return ["  y yes   n no"]
    if question.type == "scale":
        labels = "; ".join(f"{k} {v}" for k, v in sorted(question.labels.items()))
        return [f"  {question.scale_min} to {question.scale_max}" + (f" ({labels})" if labels else "")]
    hint = check.answer_hint(question, specials=False)
    return [f"  {hint}" + ("   (na: not applicable)" if question.offers("na") else "")]


def ask(session: Session, console: Console, sources: Mapping[str, str] | None = None) -> str:
    """The dialogue. Returns "finished" (all visible questions answered) or "eof" (input ended)."""
    q = session.q
    number = {qid: n for n, qid in enumerate(q.questions, 1)}
    current = session.next_unanswered()
    last_section = None
    while current is not None:
        question = q.questions[current]
        if question.section != last_section:
            section = q.section(question.section)
            console.write("")
            console.write(f"== {section.title} ==")
            if section.intro:
                console.write(_wrap(section.intro))
            last_section = question.section
        answered, visible = session.progress()
        console.write("")
        console.write(f"[{answered}/{visible} answered]  Q{number[current]} ({current})"
                      + ("  required" if question.required else ""))
        console.write(_wrap(question.text))
        for line in _options(question):
            console.write(line)
        existing = session.answers.get(current)
        if existing is not None:
            console.write(f"  current answer: {_show_answer(question, existing)} (Enter keeps it)")
        if question.note:
            console.write("  (add evidence after ' # ', e.g. 'partial # board minutes of 3 May')")
        try:
            line = console.read("> ")
        except EOFError:
            return "eof"
        if not console.interactive:  # make logs of piped runs readable: prompt and answer on one line
            console.write(line)
        text = line.strip()
        command = text.lower()
        if command == "?":
            console.write(_wrap(question.help, "  "))
            if question.guidance:
                console.write(_wrap(question.guidance, "  "))
            for c in question.choices:
                if c.help:
                    console.write(_wrap(f"{c.label}: {c.help}", "  "))
            console.write(f"  source: {(sources or {}).get(question.source, question.source)}")
            console.write(f"  {COMMANDS}")
            continue
        if command == "b":
            previous = session.previous(current)
            if previous is None:
                console.write("  ! this is the first question")
            else:
                current = previous
            continue
        note = None
        if command == "s":
            if not question.offers("dont_know"):
                console.write("  ! this question needs an answer; it cannot be skipped")
                continue
            value = "dont_know"
        elif not text:
            if existing is None:
                console.write(f"  ! type an answer ({COMMANDS})")
                continue
            current = session.next_unanswered(after=current)
            continue
        else:
            if question.note and " # " in f" {text}":
                text, _, note = f" {text}".partition(" # ")
                text, note = text.strip(), note.strip() or None
                if not text and existing is not None:
                    text = existing if isinstance(existing, str) else str(existing)
            try:
                value = check.parse_input(question, text)
            except ValueError as exc:
                console.write(f"  ! {exc}")
                continue
            if value is None:
                console.write(f"  ! type an answer ({COMMANDS})")
                continue
        session.record(current, value, note)
        current = session.next_unanswered(after=current)
    return "finished"


# What the cover of a report needs, asked once at a terminal before the questions (kept in the file).
HEADER_PROMPTS = (("organisation", "Organisation being assessed"), ("respondent", "Your name and role"),
                  ("date", "Date of the assessment"))


def ask_header(session: Session, console: Console, today: str) -> None:
    """Ask for the organisation, the respondent and the date where the answers file has none."""
    for key, prompt in HEADER_PROMPTS:
        if session.header.get(key):
            continue
        while True:
            default = today if key == "date" else ""
            reply = console.read(f"{prompt}{f' [{default}]' if default else ''}: ").strip() or default
            if key == "date" and reply:
                try:
                    reply = _dt.date.fromisoformat(reply).isoformat()
                except ValueError:
                    console.write("  ! expected a date as YYYY-MM-DD, e.g. " + today)
                    continue
            break
        if reply:
            session.set_header(key, reply)


def run(q: qmodel.Questionnaire, path: str | Path, respondent: str | None = None, assess: bool | None = None,
        console: Console | None = None, on_finish: Callable[[Path], str] | None = None,
        header: Mapping[str, str] | None = None, sources: Mapping[str, str] | None = None) -> int:
    """Run the questionnaire into ``path``; returns the exit code (0, or 130 after Ctrl-C).

    ``on_finish(path)`` assesses the finished answers file and returns the text to show; the
    caller passes it, so that this layer does not reach up into the assessment."""
    with exclusive(Path(path), "is being answered in another kam-advisor run"):
        return _run(q, path, respondent, assess, console, on_finish, header, sources)


def _run(q, path, respondent, assess, console, on_finish, header, sources) -> int:
    console = console or terminal_console()
    session = Session.open(q, path, respondent, header)
    where = display_path(session.path)
    console.write(f"{q.title} ({q.id} {q.version}), about {q.minutes} minutes.")
    if session.resumed:
        answered, visible = session.progress()
        console.write(f"Resuming {where}: {answered} of {visible} questions answered.")
    else:
        console.write(_wrap(q.intro))
    console.write(f"Every answer is saved at once in {where}. {COMMANDS}.")
    try:
        if console.interactive:  # piped input holds answers only
            ask_header(session, console, _dt.date.today().isoformat())
        outcome = ask(session, console, sources)
    except KeyboardInterrupt:
        answered, visible = session.progress()
        console.write(f"\nStopped. {answered} of {visible} answers are saved in {where}; "
                      "run the same command again to continue.")
        return 130
    answered, visible = session.progress()
    if outcome == "eof":
        console.write(f"\nInput ended. {answered} of {visible} answers are saved in {where}; "
                      "run the same command again to continue.")
        return 0
    console.write(f"\nAll {visible} questions answered; saved in {where}.")
    if assess is None and console.interactive:
        try:
            reply = console.read("Assess now? [Y/n] ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            reply = "n"
        assess = reply in ("", "y", "yes")
    if assess and on_finish is not None:
        console.write(on_finish(session.path))
    else:
        console.write(f"To assess: kam-advisor assess --answers {where}")
    return 0


def check_path(path: str | Path) -> Path:
    """The answers path, refused early when its folder does not exist."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DataError("folder does not exist", folder)
    if path.exists() and path.is_dir():
        raise DataError("is a folder; expected an answers file", path)
    check_output(path)
    return path
