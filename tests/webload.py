"""Respondents answering a readiness engagement over HTTP at once, against a `kam-advisor serve`
process on 127.0.0.1 that can be restarted half-way (used by tests/history/test_web_workers.py
and bench/bench_web.py).

Each respondent posts every page of the readiness check as a browser would (the CSRF token of
their first page, "Save and continue", the same page again when it reveals questions, then
"Finish"), retrying a request refused while the server restarts. Traffic goes only to
127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from kam_advisor.answers import loader
from kam_advisor.answers.check import coerce_answer, visible_questions
from kam_advisor.data.vocab import SPECIAL, STATUSES

REQUEST_SECONDS = 60       # a request refused (restart) is tried again for at most this long


class ServeProcess:
    """`kam-advisor serve --workers N` in a process of its own."""

    def __init__(self, db_url: str, port: int, workers: int):
        self.db_url, self.port, self.workers = db_url, port, workers
        self.proc: subprocess.Popen | None = None
        self.admin_token: str | None = None

    def start(self, timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kam_advisor", "serve", "--db", self.db_url, "--port", str(self.port),
             "--workers", str(self.workers)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        for line in self.proc.stderr:
            found = re.search(r"/admin\?token=(\S+)", line)
            if found:
                self.admin_token = found.group(1)
                break
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()   # never let the pipe fill
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}")
            try:
                status, _, _ = call("GET", self.port, "/", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("serve did not answer in time")

    def stop(self, timeout: float = 30) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:      # pragma: no cover - reported by the caller's asserts
            self.proc.kill()
            return self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def call(method: str, port: int, path: str, body: bytes | None = None, timeout: float = 10):
    """(status, Location, body) of one request to 127.0.0.1:port (no redirect followed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"content-type": "application/x-www-form-urlencoded"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("location"), response.read().decode()
    finally:
        conn.close()


def call_again(method: str, port: int, path: str, body: bytes | None = None):
    """:func:`call`, tried again while the server restarts (refused, reset, 503)."""
    deadline = time.monotonic() + REQUEST_SECONDS
    while True:
        try:
            status, location, text = call(method, port, path, body)
            if status != 503:
                return status, location, text
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{method} {path}: no answer for {REQUEST_SECONDS} s")
        time.sleep(0.1)


def planned_answers(n: int) -> dict[str, str]:
    """Respondent n's answers to every readiness question, as form values."""
    q = loader.load("readiness")
    out = {}
    for j, x in enumerate(q.questions.values()):
        if x.type == "status":
            out[x.id] = [s for s in STATUSES if s not in SPECIAL][(n + j) % 3]
        elif x.type == "yes_no":
            out[x.id] = "yes" if (n + j) % 2 else "no"
        elif x.type == "number":
            low, high = x.validation.get("min", 0), x.validation.get("max", 100)
            out[x.id] = str(int(max(low, 1) + (n + j) % max(1, min(high, 10) - max(low, 1) + 1)))
        elif x.type in ("single_choice", "multi_choice"):
            out[x.id] = x.choice_values[(n + j) % len(x.choice_values)]
        elif x.type == "scale":
            out[x.id] = str(x.scale_min + (n + j) % (x.scale_max - x.scale_min + 1))
        else:
            out[x.id] = f"answer {n}"
    return out


def expected_answers(n: int) -> dict:
    """The answers the store should hold for respondent n: the planned ones the pages asked."""
    q = loader.load("readiness")
    canonical = {qid: coerce_answer(q.questions[qid], [v] if q.questions[qid].type == "multi_choice" else v)
                 for qid, v in planned_answers(n).items()}
    return {x.id: canonical[x.id] for x in visible_questions(q, canonical)}


@dataclass
class Load:
    port: int
    posts: list[float] = field(default_factory=list)     # seconds per page post (without redirects)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: int = 0

    def respondent(self, n: int, token: str) -> None:
        q = loader.load("readiness")
        planned = planned_answers(n)
        status, _, page = call_again("GET", self.port, f"/r/{token}/s/{q.sections[0].id}")
        if status != 200:
            raise AssertionError(f"respondent {n}: the first page answered {status}")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        path = f"/r/{token}/s/{q.sections[0].id}"
        for _ in range(4 * len(q.sections)):
            section = path.split("/s/", 1)[1].split("?", 1)[0]
            fields = [("csrf", csrf), ("go", "next")] + [(f"a:{qid}", planned[qid])
                                                         for qid in q.section(section).questions]
            started = time.perf_counter()
            status, location, _ = call_again("POST", self.port, path.split("?", 1)[0],
                                             urllib.parse.urlencode(fields).encode())
            with self.lock:
                self.posts.append(time.perf_counter() - started)
            if status != 303:
                raise AssertionError(f"respondent {n}: a page post answered {status}")
            path = location.split("#", 1)[0]
            if path.endswith("/review"):
                break
        status, _, _ = call_again("POST", self.port, f"/r/{token}/review",
                                  urllib.parse.urlencode({"csrf": csrf}).encode())
        if status != 303:
            raise AssertionError(f"respondent {n}: finishing answered {status}")
        with self.lock:
            self.finished += 1


def run_load(port: int, tokens: list[str], at_once: int, restart_after: int | None = None,
             server: ServeProcess | None = None) -> Load:
    """Every respondent answers, ``at_once`` at a time; after ``restart_after`` respondents have
    finished the server is restarted while the others go on."""
    load = Load(port)
    restarted = threading.Event()

    def one(n: int, token: str) -> None:
        load.respondent(n, token)
        if restart_after is not None and server is not None and load.finished >= restart_after \
                and not restarted.is_set():
            restarted.set()
            server.restart()

    with concurrent.futures.ThreadPoolExecutor(at_once) as pool:
        for future in [pool.submit(one, n, t) for n, t in enumerate(tokens)]:
            future.result()
    if restart_after is not None and not restarted.is_set():     # pragma: no cover
        raise AssertionError("the server was never restarted")
    return load


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]
