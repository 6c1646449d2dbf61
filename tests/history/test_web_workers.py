"""`kam-advisor serve --workers N` over one database: respondents answering at once while the
server is restarted half-way lose no answer, and every worker accepts the links, forms and
admin token the others (and the server before the restart) handed out.

PostgreSQL is the suite's own server (tests/history/conftest.py); SQLite runs the same
scenario smaller. Traffic goes only to 127.0.0.1 (tests/webload.py).
"""

from __future__ import annotations

import pytest

from kam_advisor.store import engagements as eng, open_store
from webload import ServeProcess, call, expected_answers, run_load
from webserver import free_port

# PostgreSQL: the scenario (200 respondents, 16 at a time, 4 workers, a restart half-way)
SCENARIOS = {"postgresql": (200, 16, 4), "sqlite": (32, 8, 2)}


@pytest.fixture()
def web_db_url(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'web.db'}"
    return request.getfixturevalue("pg_server").new_database()


def test_respondents_answering_at_once_through_a_restart_lose_no_answer(backend, web_db_url):
    respondents, at_once, workers = SCENARIOS[backend]
    with open_store(web_db_url) as store:
        eid = eng.create(store, "Many Voices plc", "readiness", [f"Manager {n:03d}" for n in range(respondents)])
        tokens = [p.token for p in eng.get(store, eid).respondents]
    server = ServeProcess(web_db_url, free_port(), workers)
    server.start()
    first_token = server.admin_token
    try:
        load = run_load(server.port, tokens, at_once, restart_after=respondents // 2, server=server)
        assert server.admin_token == first_token                         # the admin link outlived the restart
        status, location, _ = call("GET", server.port, f"/admin?token={first_token}")
        assert status == 303 and location == "/admin"
    finally:
        code = server.stop()
    assert code == 0
    assert load.finished == respondents and len(load.posts) >= respondents * 6
    with open_store(web_db_url) as store:
        engagement = eng.get(store, eid)
        assert all(p.finished_at for p in engagement.respondents)
        for n, token in enumerate(tokens):
            assert eng.answers(store, token)[0] == expected_answers(n), f"respondent {n}"
