"""Options every command shares the same way: `-o` for `--output` wherever a command writes a file,
and `--force` before a command replaces a file a person fills in (a template)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from kam_advisor.cli.app import main


def commands(group: click.Group = main, ctx: click.Context | None = None, prefix: str = ""):
    ctx = ctx or click.Context(main, info_name="kam-advisor")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from commands(command, ctx, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_the_tree_is_walked():
    names = dict(commands())
    assert {"assess", "report", "batch", "kb export", "questionnaire template", "accounts template"} <= set(names)


def test_every_output_option_has_the_short_form_o():
    writers = {name: p for name, command in commands() for p in command.params if "--output" in p.opts}
    assert {"assess", "report", "kb export"} <= set(writers)
    missing = sorted(name for name, p in writers.items() if "-o" not in p.opts)
    assert missing == [], f"--output without -o: {missing}"


def test_no_command_uses_o_for_anything_else():
    for name, command in commands():
        for p in command.params:
            if "-o" in p.opts:
                assert "--output" in p.opts, name


@pytest.mark.parametrize("args,suffix", [(["questionnaire", "template", "readiness"], ".yaml"),
                                         (["questionnaire", "template", "readiness"], ".xlsx"),
                                         (["accounts", "template"], ".csv"),
                                         (["accounts", "template"], ".xlsx")])
def test_a_template_never_replaces_a_filled_file_without_force(tmp_path, args, suffix):
    path = tmp_path / f"filled{suffix}"
    path.write_bytes(b"a person's answers")
    res = CliRunner().invoke(main, [*args, "-o", str(path)])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and str(path) in res.output and "--force" in res.output
    assert path.read_bytes() == b"a person's answers"
    res = CliRunner().invoke(main, [*args, "-o", str(path), "--force"])
    assert res.exit_code == 0, res.output
    assert path.read_bytes() != b"a person's answers"
