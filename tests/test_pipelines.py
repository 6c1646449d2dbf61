"""One pipeline per kind of assessment, chosen by the questionnaire's `produces:`, never by its id."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.answers import loader
from kam_advisor.cli import main
from kam_advisor.data.errors import DataError
from kam_advisor.render import kinds as render_kinds
from kam_advisor.results import pipelines
from kam_advisor.results.assess import assess_files
from kam_advisor.results.batch import summary_fields

CRITERIA = ["stability", "cross_sell", "adjacent_markets", "order_flow", "aligned_strategy", "financial", "ease",
            "brand"]
GLOBEX = {"account_name": "Globex", "is_key": "yes", "buysell_level": "commodity", "treats_us_as_key": "no",
          "price_only": "yes", **{f"attract_{k}": 4 for k in CRITERIA}}


def _renamed_questionnaire(folder, source: str, new_id: str, produces: str | None = None):
    """A copy of a built-in questionnaire under another id (and, if given, another `produces:`)."""
    data = yaml.safe_load((ROOT / "questionnaires" / f"{source}.yaml").read_text())
    data["id"] = new_id
    if produces is not None:
        data["produces"] = produces
    folder.mkdir(exist_ok=True)
    path = folder / f"{new_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_new_questionnaire_declaring_account_is_assessed_as_an_account_with_no_code_change(tmp_path):
    folder = tmp_path / "questionnaires"
    _renamed_questionnaire(folder, "account", "key-customer")
    assert loader.load(folder / "key-customer.yaml").produces == "account"
    (tmp_path / "builtin.yaml").write_text(yaml.safe_dump({"questionnaire": "account", "answers": GLOBEX}))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump({"questionnaire": "key-customer", "answers": GLOBEX}))
    expected = assess_files([tmp_path / "builtin.yaml"])
    result = assess_files([tmp_path / "new.yaml"], questionnaires=folder)
    assert result["kind"] == "account" and result["questionnaire"] == "key-customer"
    assert {**result, "questionnaire": "account"} == expected  # the same account pipeline, the same answers
    assert summary_fields(result)["kind"] == "account"


def test_the_declaration_not_the_id_chooses_the_pipeline(tmp_path):
    """The `account` questionnaire's questions declared as producing a programme give a programme result."""
    folder = tmp_path / "questionnaires"
    _renamed_questionnaire(folder, "account", "account", produces="programme")
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"questionnaire": "account", "answers": GLOBEX}))
    result = assess_files([tmp_path / "a.yaml"], questionnaires=folder)
    assert result["kind"] == "programme" and result["questionnaire"] == "account"
    assert "overall" in result and "quadrant" not in result


def test_an_unknown_kind_is_one_line_with_file_line_and_a_suggestion(tmp_path):
    path = _renamed_questionnaire(tmp_path, "ka-plan", "my-plan", produces="plann")
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("produces:"))
    result = CliRunner().invoke(main, ["questionnaire", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"my-plan.yaml:{line}:" in lines[0] and "produces must be one of programme, account, plan" in lines[0]
    assert "did you mean 'plan'?" in lines[0]


def test_every_built_in_questionnaire_declares_what_it_produces_and_gives_that_kind():
    declared = {}
    for path in sorted((ROOT / "questionnaires").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        assert "produces" in data, f"{path.name} declares no `produces:`"
        declared[data["id"]] = data["produces"]
        assert loader.load(path).produces == data["produces"]
    listed = CliRunner().invoke(main, ["questionnaire", "list", "--format", "json"])
    assert {row["id"]: row["produces"] for row in yaml.safe_load(listed.stdout)} == declared


def test_the_schema_offers_exactly_the_kinds_that_come_from_answers():
    schema = yaml.safe_load((ROOT / "kam_advisor" / "data" / "schemas" / "questionnaire.yaml").read_text())
    enum = schema["properties"]["produces"]["enum"]
    assert set(enum) == {k for k in pipelines.KINDS if pipelines.pipeline(k).from_answers}


@pytest.mark.parametrize("kind", pipelines.KINDS)
def test_every_kind_has_its_pipeline_renderer_templates_and_readme_line(kind):
    p = pipelines.pipeline(kind)
    assert p.kind == kind
    assert all(callable(step) for step in (p.build_facts, p.run_rules, p.shape))
    assert p.templates and all((ROOT / "kam_advisor" / "render" / "templates" / t).is_file() for t in p.templates)
    assert callable(render_kinds.renderer(kind))
    if p.from_answers:
        assert callable(p.summary)
    section = (ROOT / "README.md").read_text().split("### Kinds of assessment", 1)[1].split("\n### ", 1)[0]
    assert f"`{kind}`" in section


def test_an_unknown_kind_of_result_names_the_known_ones():
    with pytest.raises(DataError) as err:
        pipelines.pipeline("acount")
    assert "did you mean 'account'?" in str(err.value)


def test_a_plan_check_of_answers_that_produce_no_plan_says_what_they_produce(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"questionnaire": "account", "answers": GLOBEX}))
    result = CliRunner().invoke(main, ["plan", "check", str(tmp_path / "a.yaml")])
    assert result.exit_code == 2
    assert "which produces 'account', not 'plan'" in result.stderr
