"""The web questionnaire as a service, over plain HTTP on 127.0.0.1 (no browser): slow or idle
clients cannot lock respondents out, and they are cut off when their request does not arrive
in time.

The server runs in a thread of the test process with short time limits (1 s), so the test
stays short; the limits `serve` uses are longer (README: Web questionnaire).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from kam_advisor.store import engagements as eng
from kam_advisor.web.server import Limits
from webserver import Served, csrf_of, request

SLOW = 100          # connections that send half a request and stop
RESPONDENTS = 16    # respondents answering meanwhile, all at once


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = Served(f"sqlite:///{tmp_path_factory.mktemp('svc') / 'web.db'}",
                    Limits(header_timeout=1.0, body_timeout=1.0, per_client=32))
    yield served
    served.stop()
    served.store.close()


def _half_requests(port: int, count: int) -> list[socket.socket]:
    """``count`` connections: half stop inside the headers, half inside a declared body."""
    out = []
    for n in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if n % 2:
            s.sendall(b"POST /r/x/s/direction HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      b"application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\ncsrf=")
        else:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
        out.append(s)
    return out


def _closed(s: socket.socket, wait: float = 3) -> bool:
    s.settimeout(wait)
    try:
        return s.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_slow_and_idle_clients_cannot_lock_respondents_out(server):
    store, base = server.store, server.url
    eid = eng.create(store, "Busy Ltd", "readiness", [f"Director {n}" for n in range(RESPONDENTS)])
    tokens = [p.token for p in eng.get(store, eid).respondents]
    forms = {t: csrf_of(request(f"{base}/r/{t}/s/direction")[2]) for t in tokens}

    slow = _half_requests(server.port, SLOW)
    outcomes: list[tuple[int, float]] = []

    def answer(token: str) -> None:
        started = time.monotonic()
        status, headers, _ = request(f"{base}/r/{token}/s/direction",
                                     {"csrf": forms[token], "a:driver": "done", "go": "next"}, timeout=10)
        outcomes.append((status, time.monotonic() - started))

    threads = [threading.Thread(target=answer, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    # every respondent was answered (a 303 to the next page), none turned away with a 503
    assert sorted(status for status, _ in outcomes) == [303] * RESPONDENTS, outcomes
    assert all(eng.answers(store, t)[0] == {"driver": "done"} for t in tokens)
    # the half requests are cut off once their time is up (1 s here), or were closed to make room
    time.sleep(1.2)
    assert all(_closed(s) for s in slow)
    for s in slow:
        s.close()
    assert request(f"{base}/")[0] == 200


def test_one_client_holds_at_most_per_client_waiting_connections(server):
    """A client's 33rd waiting connection closes its oldest waiting one at once; requests being
    answered never count, and nobody's new connection is refused."""
    held = _half_requests(server.port, 32)
    extra = _half_requests(server.port, 1)
    assert _closed(held[0], wait=0.5)                     # at once, well before its 1 s are up
    assert not _closed(held[1], wait=0.05) and not _closed(extra[0], wait=0.05)
    assert request(f"{server.url}/")[0] == 200           # still served
    for s in held + extra:
        s.close()
