"""The questionnaire commands: ``run NAME`` and ``questionnaire list | show | template | validate``.

Thin click wrappers over :mod:`kam_advisor.answers.writer` and :mod:`kam_advisor.answers.interview`,
for the main CLI to register (``main.add_command(run)``, ``main.add_command(questionnaire)``).
Every expected failure is a DataError: one line on stderr, exit code 2 (also when these
commands are used on their own, outside the main group).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kam_advisor.answers import conditions
from kam_advisor.render import textfmt
from kam_advisor.answers import questionnaire as qmodel
from kam_advisor.answers import check
from kam_advisor.answers import loader
from kam_advisor.data import vocab
from kam_advisor.answers import writer
from kam_advisor.cli.shared import GuardedCommand, GuardedGroup, check_date, root_options
from kam_advisor.cli.store import check_save_options, save_if_asked, save_options
from kam_advisor.data.errors import DataError, display_path


_obj = root_options


LISTED = 20  # problems listed by `questionnaire validate`, at most


def _kb(ctx):
    from kam_advisor.data import knowledge
    return knowledge.load_cached(_obj(ctx).get("kb_dir"))


def _facts(ctx):
    from kam_advisor.data import rules
    return rules.load_fact_specs(_obj(ctx).get("rules_dir"))


def _load(ctx, name: str) -> qmodel.Questionnaire:
    return loader.load(name, kb=_kb(ctx), fact_specs=_facts(ctx))


@click.command("run", cls=GuardedCommand)
@click.argument("name")
@click.option("--answers", "answers_path", type=click.Path(),
              help="Answers file to write, and to resume from if it exists (default: NAME-answers.yaml); "
                   "a filled workbook (.xlsx) is continued in a YAML file beside it.")
@click.option("--respondent", help="Your name and role, recorded in the answers file.")
@click.option("--assess/--no-assess", default=None,
              help="Assess when all questions are answered (default: ask, at a terminal only).")
@save_options
@click.pass_context
def run(ctx, name, answers_path, respondent, assess, **save):
    """Answer questionnaire NAME (an id or a file) interactively or from piped input.

    Every answer is saved at once; run again with the same answers file to resume. At the
    prompt: ? help, b back, s skip (don't know), Enter keeps the current answer.
    """
    from kam_advisor.answers import interview
    check_save_options(**save)            # a bad --size or --sector is said before the first question
    q = _load(ctx, name)
    path = interview.check_path(answers_path or f"{q.id}-answers.yaml")
    from kam_advisor.answers import workbook
    if workbook.is_workbook(path):
        path = workbook.continue_in_yaml(q, path)
        click.echo(f"continuing the workbook's answers in {display_path(path)}", err=True)
    if save["save"] and assess is None:
        assess = True                     # --save: the finished answers are assessed and saved
    # --org and --date are recorded in the answers file (asked at a terminal when missing); with
    # --save they also say how the assessment is saved
    header = {"organisation": save["org"], "date": check_date(save["audit_date"])}
    code = interview.run(q, path, respondent=respondent, assess=assess, on_finish=_assess_text(ctx, save),
                         header=header, sources=_kb(ctx).sources)
    ctx.exit(code)


def _assess_text(ctx, save=None):
    """Assess a finished answers file and give the terminal summary (for `run --assess`); with
    `--save`, save the assessment in the history too."""
    def assess(path) -> str:
        from kam_advisor.render.text import render_text
        from kam_advisor.results.assess import assess_files
        result = assess_files([str(path)], kb_dir=_obj(ctx).get("kb_dir"), rules_dir=_obj(ctx).get("rules_dir"))
        if save and save.get("save"):
            save_if_asked(result, [str(path)], **save)
        return render_text(result)
    return assess


@click.group("questionnaire", cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
def questionnaire():
    """List, show and check questionnaires; write fillable answer templates."""


@questionnaire.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def q_list(ctx, fmt):
    """The built-in questionnaires."""
    found = loader.list_questionnaires(kb=_kb(ctx), fact_specs=_facts(ctx))
    rows = [{"id": q.id, "version": q.version, "audience": q.audience, "produces": q.produces, "questions": len(q),
             "asked": check.question_range(q)[0], "sections": len(q.sections), "minutes": q.minutes,
             "title": q.title} for q in found]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    # as the web pages count: the questions asked before any answer, up to all of them
    click.echo(textfmt.table(["id", "audience", "produces", "questions", "minutes", "title"],
                             [[r["id"], r["audience"], r["produces"], r["questions"] if r["asked"] == r["questions"]
                               else f"{r['asked']}-{r['questions']}", r["minutes"], r["title"]] for r in rows],
                             "lllrrl"))


def describe(q: qmodel.Questionnaire) -> dict:
    """A questionnaire as plain data (``show --format json``)."""
    def target(t: qmodel.Target) -> dict:
        out = {t.kind: list(t.ids) if t.kind == "items" else t.ids[0]}
        for key in ("status", "value"):
            if getattr(t, key) is not None:
                out[key] = {str(k): v for k, v in getattr(t, key).items()}
        if t.if_selected:
            out["if_selected"] = t.if_selected
        return out

    def question(x: qmodel.Question) -> dict:
        out = {"id": x.id, "type": x.type, "text": x.text, "help": x.help, "answer": check.answer_hint(x)}
        if x.choices:
            out["choices"] = [{"value": c.value, "label": c.label} for c in x.choices]
        if x.required:
            out["required"] = True
        if x.when is not None:
            out["when"] = conditions.describe(x.when)
        if x.maps_to:
            out["maps_to"] = [target(t) for t in x.maps_to]
        out["source"] = x.source
        return out

    return {"id": q.id, "version": q.version, "audience": q.audience, "title": q.title, "intro": q.intro,
            "minutes": q.minutes, "keyed_by": q.keyed_by, "produces": q.produces, "questions": len(q),
            "sections": [{"id": s.id, "title": s.title, "intro": s.intro,
                          "when": conditions.describe(s.when) if s.when is not None else None,
                          "questions": [question(q.questions[i]) for i in s.questions]} for s in q.sections]}


@questionnaire.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def q_show(ctx, name, fmt):
    """One questionnaire: sections, questions, answers, conditions and what each evidences."""
    q = _load(ctx, name)
    data = describe(q)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{q.title}\n{q.id} {q.version} · for {q.audience}s · {len(q)} questions · about {q.minutes} minutes"
               f" · gives {'an' if q.produces[0] in 'aeiou' else 'a'} {q.produces} result")
    click.echo(textfmt.block({"intro": q.intro}))
    for s in data["sections"]:
        click.echo(f"\n== {s['title']} ==" + (f"  (only if {s['when']})" if s["when"] else ""))
        for x in s["questions"]:
            click.echo(f"  {x['id']} [{x['type']}] {x['text']}")
            click.echo(f"      answer: {x['answer']}" + ("  (required)" if x.get("required") else ""))
            if "when" in x:
                click.echo(f"      only if: {x['when']}")
            for t in x.get("maps_to", []):
                what = ", ".join(f"{k}={v if not isinstance(v, list) else ' '.join(v)}" for k, v in t.items())
                click.echo(f"      maps to: {what}")


@questionnaire.command("template")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(), help="Write here instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.pass_context
def q_template(ctx, name, output, force):
    """A fillable answers file: every question a commented entry with its text, choices and help.

    With an --output ending in .xlsx: an Excel workbook, one row per question with a drop-down
    for the answer (fill it in Excel or LibreOffice; every command reads it like an answers file)."""
    from kam_advisor.answers import workbook
    q = _load(ctx, name)
    if output and workbook.is_workbook(output):
        text = workbook.template(q, _facts(ctx))
    else:
        text = writer.template(q)
    if not output or output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    if path.exists() and not force:
        raise DataError("exists; not overwriting it (it may hold answers); use --force to replace it", path)
    from kam_advisor.data.files import atomic_write
    atomic_write(path, text, inputs=[q.path])
    click.echo(f"wrote {display_path(path)}", err=True)


@questionnaire.command("validate")
@click.argument("name")
@click.argument("answers_file", required=False, type=click.Path())
@click.pass_context
def q_validate(ctx, name, answers_file):
    """Check questionnaire NAME, or an ANSWERS_FILE against it (every problem, one line each)."""
    q = _load(ctx, name)
    if not answers_file:
        click.echo(f"ok: questionnaire {q.id} {q.version}: {len(q)} questions in {len(q.sections)} sections")
        return
    af, data = check.read_answers(answers_file)
    errors = check.validate_answers(q, af, _facts(ctx), complete=True, data=data)
    if len(errors) > LISTED:  # a file of thousands of unknown ids must not flood the terminal
        errors = errors[:LISTED] + [DataError(f"... and {len(errors) - LISTED} more problems", answers_file)]
    if errors:
        from kam_advisor.data.errors import DataErrors
        raise errors[0] if len(errors) == 1 else DataErrors(errors)
    answers, _ = check.canonical_answers(q, af)
    shown = check.visible_questions(q, answers)
    given = [answers[x.id] for x in shown if x.id in answers]
    hidden = sorted(set(answers) - {x.id for x in shown})
    counts = ", ".join(f"{given.count(s)} {vocab.LABELS[s]}" for s in vocab.SPECIAL if given.count(s))
    line = f"ok: {display_path(answers_file)}: {len(given)} of {len(shown)} visible questions answered"
    if counts:
        line += f" ({counts})"
    if hidden:
        line += f"; answers to {len(hidden)} hidden question(s) ignored: {', '.join(hidden)}"
    click.echo(line)
