"""Engagements in the store and the `serve` command, without a browser: secret links, answers
saved by respondents at the same time, a closed engagement frozen, 127.0.0.1 by default."""

from __future__ import annotations

import base64
import threading

import pytest
from click.testing import CliRunner

from kam_advisor.cli.app import main
from kam_advisor.store import StoreError, open_store
from kam_advisor.store import engagements as eng


@pytest.fixture()
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'web.db'}") as opened:
        yield opened


def test_every_respondent_gets_an_unguessable_link_of_their_own(store):
    eid = eng.create(store, "Acme", "readiness", ["Chief Executive", "Sales Director", "Finance Director"])
    people = eng.get(store, eid).respondents
    tokens = [p.token for p in people]
    assert len(set(tokens)) == 3
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    engagement, person = eng.respondent(store, tokens[1])
    assert engagement.id == eid and person.label == "Sales Director"
    assert eng.respondent(store, tokens[1][:-1] + ("A" if tokens[1][-1] != "A" else "B")) is None


def test_two_respondents_saving_at_the_same_time_lose_no_answer(store):
    eid = eng.create(store, "Acme", "readiness", ["A", "B"])
    tokens = [p.token for p in eng.get(store, eid).respondents]
    questions = [f"q{n}" for n in range(40)]
    errors = []

    def answer(token, value):
        try:
            for qid in questions:
                eng.save_answers(store, token, {qid: value}, {qid: f"{value} note"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(t, v)) for t, v in zip(tokens, ("done", "partial"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for token, value in zip(tokens, ("done", "partial")):
        answers, notes = eng.answers(store, token)
        assert answers == {qid: value for qid in questions}
        assert notes == {qid: f"{value} note" for qid in questions}


def test_a_cleared_answer_is_removed_and_a_closed_engagement_is_frozen(store):
    eid = eng.create(store, "Acme", "readiness", ["A"])
    token = eng.get(store, eid).respondents[0].token
    eng.save_answers(store, token, {"driver": "done", "ka_count": 12}, {})
    eng.save_answers(store, token, {"ka_count": None}, {})
    assert eng.answers(store, token) == ({"driver": "done"}, {})
    eng.save_answers(store, token, {"strategy": None}, {"strategy": "ask the CFO"})     # a note alone is kept
    assert eng.answers(store, token) == ({"driver": "done"}, {"strategy": "ask the CFO"})
    assert eng.get(store, eid).respondents[0].answered == 1
    eng.save_answers(store, token, {"strategy": None}, {"strategy": None})
    assert eng.answers(store, token) == ({"driver": "done"}, {})
    eng.close(store, eid, None)
    with pytest.raises(StoreError, match="closed"):
        eng.save_answers(store, token, {"driver": "partial"}, {})
    assert eng.answers(store, token) == ({"driver": "done"}, {})


def test_respondents_need_distinct_names(store):
    with pytest.raises(StoreError, match="same name"):
        eng.create(store, "Acme", "readiness", ["CEO", "CEO"])
    eid = eng.create(store, "Acme", "readiness", ["CEO"])
    with pytest.raises(StoreError, match="already in this engagement"):
        eng.add_respondent(store, eid, "CEO")


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True), ("192.168.1.20", True)])
def test_serve_listens_on_this_machine_unless_told_and_warns_when_shared(tmp_path, monkeypatch, host, warned):
    import uvicorn

    from kam_advisor.web import server
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(server, "check_address", lambda host, port: None)   # 192.168.1.20 may not be ours
    args = ["serve", "--db", f"sqlite:///{tmp_path / 'w.db'}"] + (["--host", host] if host != "127.0.0.1" else [])
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert seen["host"] == host
    assert ("warning: listening on" in res.stderr) is warned
    assert "/admin?token=" in res.stderr


def test_serve_keeps_its_admin_link_across_restarts_and_makes_a_new_one_when_asked(tmp_path, monkeypatch):
    import os
    import re
    import stat

    from kam_advisor.web import server
    runs = []
    monkeypatch.setattr(server, "run", lambda **kw: runs.append(kw))
    url = f"sqlite:///{tmp_path / 'w.db'}"

    def token(*extra):
        res = CliRunner().invoke(main, ["serve", "--db", url, *extra])
        assert res.exit_code == 0, res.output
        return re.search(r"/admin\?token=(\S+)", res.stderr).group(1)

    first = token()
    assert token() == first                                    # a restart keeps the admin link
    rotated = token("--new-admin-token")
    assert rotated != first and token() == rotated
    assert runs[-1]["workers"] == 1 and runs[-1]["host"] == "127.0.0.1"
    token("--workers", "4", "--public-host", "kam.example.com")
    assert runs[-1]["workers"] == 4 and runs[-1]["hosts"] == ("kam.example.com",)
    # the file that keeps the secrets (and the answers) is readable by its owner only
    assert stat.S_IMODE(os.stat(tmp_path / "w.db").st_mode) & 0o077 == 0


def test_closing_twice_at_once_saves_one_audit(store):
    from kam_advisor.results.assessment import assess_answers
    from kam_advisor.answers.files import AnswerFile
    eid = eng.create(store, "Acme", "readiness", ["CEO"])
    token = eng.get(store, eid).respondents[0].token
    eng.save_answers(store, token, {"driver": "done", "strategy": "partial"}, {})
    answers, notes = eng.answers(store, token)
    result = assess_answers([AnswerFile(path="r1", questionnaire="readiness", answers=answers, notes=notes,
                                        facts={}, respondent="CEO", organisation="Acme")])
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(
        eng.close_with_audit(store, eid, result, [], organisation="Acme", date="2026-05-01"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(closed for _, closed in outcomes) == [False, False, False, True]
    assert len({audit for audit, _ in outcomes}) == 1 and len(store.audits("Acme")) == 1
    assert eng.get(store, eid).audit_id == store.audits("Acme")[0].id


def test_serve_on_a_port_in_use_is_one_line_before_anything_starts(tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = CliRunner().invoke(main, ["serve", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--port", str(port)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in res.stderr
    assert "admin?token" not in res.stderr and not (tmp_path / "w.db").exists()
