"""A web questionnaire server in a thread of the test process (the tests' own, over HTTP)."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from kam_advisor.store import open_store
from kam_advisor.web import server as server_mod
from kam_advisor.web.app import build


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A server in a thread of the test process on a fixed port; ``restart()`` stops it and
    starts a new application on a newly opened store, as a restarted ``serve`` would."""

    def __init__(self, url: str, limits=None):
        self.db_url, self.limits = url, limits or server_mod.Limits()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = open_store(url)
        self._start()

    def _start(self) -> None:
        import uvicorn
        self._store = open_store(self.db_url)
        app, self.token = build(self._store)
        options = {**server_mod.uvicorn_options(self.limits), "log_level": "warning"}
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     http=server_mod.protocol(self.limits), **options))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        for _ in range(250):
            if self._server.started:
                return
            time.sleep(0.02)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._store.close()

    def restart(self) -> None:
        self.stop()
        self._start()

    def __getitem__(self, key):       # the dict the tests were written against
        return {"url": self.url, "token": self.token, "store": self.store}[key]




def request(url: str, data: bytes | dict | None = None, headers: dict | None = None, timeout: float = 10):
    """(status, headers, body) of one request; redirects are not followed."""
    if isinstance(data, dict):
        data = urllib.parse.urlencode(data).encode()
        headers = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def csrf_of(body: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)
