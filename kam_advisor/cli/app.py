"""The command line: each command parses its options, calls one library function, renders.

Every expected failure is a DataError: printed as one line on stderr, exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kam_advisor import __version__
from kam_advisor.data import knowledge
from kam_advisor.render import textfmt
from kam_advisor.data.errors import display_path
from kam_advisor.cli.shared import GuardedGroup, answers_options, answers_paths, say_error
from kam_advisor.cli.store import apply_names, check_save_options, save_if_asked, save_options


def _dump_json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _dump_yaml(data) -> str:
    import yaml
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_output(text: str, output: str | None, inputs=()) -> None:
    """Write to a file (atomically; never over one of ``inputs``) or stdout."""
    if not output or output == "-":
        click.echo(text, nl=False)
        return
    from kam_advisor.data.files import atomic_write
    atomic_write(Path(output), text, inputs=inputs)


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kam-advisor")
@click.option("--kb", "kb_dir", type=click.Path(), envvar="KAM_ADVISOR_KB", default=None,
              help="Knowledge-base folder (default: the built-in one).")
@click.option("--rules", "rules_dir", type=click.Path(), envvar="KAM_ADVISOR_RULES", default=None,
              help="Rules folder (default: the built-in one).")
@click.pass_context
def main(ctx, kb_dir, rules_dir):
    """kam-advisor: assess a Key Account Management programme and say what to do next."""
    ctx.obj = {"kb_dir": kb_dir, "rules_dir": rules_dir}


def _kb(ctx) -> knowledge.KnowledgeBase:
    return knowledge.load_cached(ctx.obj.get("kb_dir"))


@main.group()
def kb():
    """Inspect and check the knowledge base."""


@kb.command("validate")
@click.argument("directory", required=False, type=click.Path())
@click.pass_context
def kb_validate(ctx, directory):
    """Check a knowledge-base folder; exit 0 when valid, 2 with one line per problem."""
    base = knowledge.load(directory or ctx.obj.get("kb_dir"))
    click.echo(f"ok: knowledge base {base.version}: {len(base.items)} actions, {len(base.topics)} topics, "
               f"{len(base.areas)} areas, {len(base.dimensions)} dimensions, {len(base.stages)} stages, "
               f"{len(base.facets)} facets, {len(base.records)} records")


@main.group("rules")
def rules_group():
    """Check the rules."""


@rules_group.command("validate")
@click.argument("directory", required=False, type=click.Path())
@click.pass_context
def rules_validate(ctx, directory):
    """Check a rules folder against the knowledge base (--kb): every type, field and value a rule
    tests or emits; exit 0 when valid, 2 with one line per problem."""
    from kam_advisor.data import rules as rules_mod
    base = rules_mod.load(directory or ctx.obj.get("rules_dir"), kb=_kb(ctx))
    click.echo(f"ok: rules: {len(base.rules)} rules in {len(base.files)} files, {len(base.types)} fact types, "
               f"{len(base.field_types)} typed fields, {len(base.facts)} named facts")


@kb.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(), help="Write here instead of stdout.")
@click.pass_context
def kb_export(ctx, fmt, output):
    """The whole knowledge base as one JSON or YAML document."""
    data = knowledge.export(_kb(ctx))
    write_output(_dump_json(data) if fmt == "json" else _dump_yaml(data), output)


@kb.command("show")
@click.argument("record_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def kb_show(ctx, record_id, fmt):
    """One record (action, topic, facet, stage, ...) by id."""
    found = knowledge.show(_kb(ctx), record_id)
    if fmt == "json":
        click.echo(_dump_json(found), nl=False)
        return
    click.echo(f"{found['kind']} {found['id']}  ({found['defined_at']})")
    click.echo(textfmt.block({**found["data"], **found["extra"]}, indent=2))


@kb.command("stats")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def kb_stats(ctx, fmt):
    """Counts of actions per dimension, area, topic and stage."""
    data = knowledge.stats(_kb(ctx))
    if fmt == "json":
        click.echo(_dump_json(data), nl=False)
        return
    stages = data["stages"]
    rows = []
    for r in data["rows"] + [data["total"]]:
        indent = {"dimension": "", "area": "  ", "topic": "    ", "total": ""}[r["level"]]
        rows.append([indent + (r["id"] or "total"), r["name"]] + [r["stages"][s] for s in stages] + [r["total"]])
    click.echo(textfmt.table(["id", "name"] + stages + ["all"], rows, "ll" + "r" * (len(stages) + 1)))
    c = data["counts"]
    click.echo(f"\nknowledge base {data['version']}: {c['dimensions']} dimensions, {c['areas']} areas, "
               f"{c['topics']} topics, {c['items']} actions, {c['stages']} stages, {c['facets']} facets")


@main.command("assess")
@answers_options("Assess")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(), help="Write here instead of stdout.")
@save_options
@click.pass_context
def assess_cmd(ctx, answers, example, fmt, output, **save):
    """Assess answers: stages, facets, recommendations, roadmap, red flags, with reasons."""
    from kam_advisor.results import assessment
    from kam_advisor.results import assess
    paths = answers_paths(answers, example)
    if output and output != "-":
        from kam_advisor.data.files import check_output
        check_output(Path(output), inputs=paths)
    check_save_options(**save)
    result = assess.assess_files(paths, kb_dir=ctx.obj.get("kb_dir"), rules_dir=ctx.obj.get("rules_dir"))
    apply_names(result, **save)
    save_if_asked(result, paths, **save)
    from kam_advisor.render.text import render_text
    write_output(assessment.dumps(result) if fmt == "json" else render_text(result), output, inputs=paths)


@main.command("explain")
@click.argument("finding_id")
@answers_options("Explain")
@click.option("--depth", type=click.IntRange(0, None), default=None, help="Stop the chain at this depth.")
@click.pass_context
def explain_cmd(ctx, finding_id, answers, example, depth):
    """The chain of reasons behind one finding (stage, recommendation, flag), down to the answers.

    FINDING_ID is an id from the result: a topic/area/dimension id or 'programme' (its stage),
    a recommendation (rec.<item>), a red flag (flag.<name>), a facet band (band:<facet>)."""
    from kam_advisor.results import assess, assessment, explain
    result = assess.assess_files(answers_paths(answers, example), kb_dir=ctx.obj.get("kb_dir"),
                                     rules_dir=ctx.obj.get("rules_dir"))
    click.echo(explain.render_explain(explain.explain(result, finding_id, depth)), nl=False)


@main.command("batch")
@click.argument("directory", type=click.Path())
@click.option("--output", "-o", "out_dir", required=True, type=click.Path(),
              help="Folder for one JSON result per input and summary.csv.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPUs).")
@click.option("--timeout", type=click.FloatRange(0.1, None), default=60.0, show_default=True,
              help="Seconds one file may take; a file that takes longer is stopped and reported.")
@click.pass_context
def batch_cmd(ctx, directory, out_dir, jobs, timeout):
    """Assess every answers file in DIRECTORY; bad files are reported and skipped.

    Each file is assessed in a worker process: one that crashes or hangs is that file's error.
    summary.csv is always written. Exit code 0 when every file was assessed, 2 when any failed."""
    from kam_advisor.results import batch
    files = batch.answer_files(Path(directory))
    batch.check_out_dir(Path(directory), Path(out_dir))
    failures = []
    with click.progressbar(length=len(files), label="assessing", file=sys.stderr) as bar:
        def done(path, error):
            if error:
                failures.append(batch.describe_failure(path, error))
            bar.update(1)
        rows = batch.run(directory, out_dir, kb_dir=ctx.obj.get("kb_dir"), rules_dir=ctx.obj.get("rules_dir"),
                         jobs=jobs, on_done=done, timeout=timeout)
    for line in sorted(failures):
        say_error(f"skipped {line}")
    ok = sum(1 for r in rows if r["status"] == "ok")
    click.echo(f"{ok} of {len(rows)} assessed; results and summary.csv in {display_path(out_dir)}", err=True)
    if failures:
        ctx.exit(2)


@main.command("schema")
@click.argument("kind", metavar="KIND")
def schema_cmd(kind):
    """The JSON Schema of a result document KIND: assessment, account, plan, portfolio, history,
    compare or progress (generated from the typed models; its `x-schema-version` is the version)."""
    from kam_advisor.results.documents import registry as documents
    click.echo(_dump_json(documents.schema(kind)), nl=False)


from kam_advisor.cli.questionnaire import questionnaire, run  # noqa: E402 - commands defined elsewhere
from kam_advisor.cli.report import report  # noqa: E402
from kam_advisor.cli.accounts import accounts, plan  # noqa: E402
from kam_advisor.cli.serve import serve  # noqa: E402

main.add_command(run)
main.add_command(questionnaire)
main.add_command(report)
main.add_command(accounts)
main.add_command(plan)
main.add_command(serve)
from kam_advisor.cli.store import COMMANDS as STORE_COMMANDS, kb_diff  # noqa: E402
for _command in STORE_COMMANDS:
    main.add_command(_command)
kb.add_command(kb_diff)


if __name__ == "__main__":  # pragma: no cover
    main()
