"""Serving the web questionnaire: uvicorn, one process or several, with guarded connections.

``serve`` runs the application in uvicorn. With ``workers > 1`` uvicorn starts that many
worker processes on one listening socket; they share nothing but the database (the signing
secret and admin token included, see :func:`kam_advisor.store.engagements.web_secrets`), so
each builds its own application from the settings passed in the environment
(:func:`worker_app`).

Slow or idle clients cannot lock others out (:class:`GuardedH11Protocol`, uvicorn's h11
protocol with three additions): a request's line and headers must arrive within
``header_timeout`` seconds of the connection (or of its first byte on a kept-alive one), its
body within ``body_timeout`` seconds of the headers, or the connection is closed; and one
client address holds at most ``per_client`` connections that only wait (for a request, or
for the rest of one): a further one closes that client's oldest waiting connection.
Connections whose request is being answered never count, and no new connection is refused.
uvicorn answers 503 only past ``max_connections`` in all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
from dataclasses import asdict, dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ENV = "KAM_ADVISOR_WEB"          # the settings a worker process builds its application from
log = logging.getLogger("kam_advisor.web")


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0   # seconds for a request's line and headers
    body_timeout: float = 30.0     # seconds for its body (at most 256 KB), once the headers are in
    per_client: int = 32           # waiting connections one client address holds at once
    max_connections: int = 1000    # in all, per process (bounded by the open-file limit)
    graceful_seconds: int = 10     # on SIGTERM, requests under way get this long to finish


LIMITS = Limits()


def _file_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 16


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with time limits on reading a request and a limit per client."""

    limits: Limits | None = None   # None: the module's LIMITS (set by a worker from its settings)

    def _limits(self) -> Limits:
        return self.limits or LIMITS

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        clients = getattr(self.server_state, "kam_clients", None)
        if clients is None:
            clients = self.server_state.kam_clients = {}
        self._address = self.client[0] if self.client else "?"
        mine = clients.setdefault(self._address, [])
        mine.append(self)
        self._watch()
        if len(mine) > self._limits().per_client:
            # connections whose request is being answered never count: a reverse proxy may have
            # many requests under way for its clients at once
            waiting = [c for c in mine if c._waiting() and not c.transport.is_closing()]
            if len(waiting) > self._limits().per_client:
                log.debug("%s: more than %d waiting connections; closing the oldest",
                          self._address, self._limits().per_client)
                waiting[0]._close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc) -> None:
        self._cancel()
        clients = getattr(self.server_state, "kam_clients", {})
        mine = clients.get(getattr(self, "_address", "?"), [])
        if self in mine:
            mine.remove(self)
            if not mine:
                clients.pop(self._address, None)
        super().connection_lost(exc)

    # ---- the request clock

    def _waiting(self) -> bool:
        """Whether the connection only waits for the client (no request of it is being answered)."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            return True
        return state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _watch(self) -> None:
        """Start the clock for the part of the request the client is sending now (a kept-alive
        connection with nothing sent yet is uvicorn's keep-alive timeout's)."""
        state = self.conn.their_state
        if state is h11.IDLE:
            idle_keepalive = self.cycle is not None and self.timeout_keep_alive_task is not None
            phase = None if idle_keepalive else "headers"
        elif state is h11.SEND_BODY:
            phase = "body"
        else:
            phase = None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase is not None:
            limits = self._limits()
            seconds = limits.header_timeout if phase == "headers" else limits.body_timeout
            self._timer = self.loop.call_later(seconds, self._expired, phase)

    def _cancel(self) -> None:
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
            self._timer = None

    def _expired(self, phase: str) -> None:
        self._timer = None
        if self._phase == phase and not self.transport.is_closing():
            log.debug("%s: closed a connection whose request %s did not arrive in time", self._address, phase)
            self._close()

    def _close(self) -> None:
        self._cancel()
        if not self.transport.is_closing():
            self.transport.close()


def check_address(host: str, port: int) -> None:
    """Refuse, on one line, an address this machine cannot listen on (a port in use, a host
    that is not one of its addresses), before anything is printed or started."""
    import socket

    from kam_advisor.data.errors import DataError
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise DataError(f"--host {host}: not an address of this machine ({err.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise DataError(f"cannot listen on {host}:{port}: {err.strerror.lower() if err.strerror else err}"
                            + ("; is another kam-advisor serve running? choose another --port"
                               if err.errno in (98, 48) else "")) from None


def protocol(limits: Limits) -> type[GuardedH11Protocol]:
    """The protocol class with these limits (for a server in this process)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})


def uvicorn_options(limits: Limits) -> dict:
    return {"log_level": "warning", "server_header": False, "timeout_keep_alive": 5,
            "limit_concurrency": max(64, min(limits.max_connections, _file_limit() - 64)),
            "timeout_graceful_shutdown": limits.graceful_seconds}


def run(*, db_url: str, host: str, port: int, workers: int = 1, kb_dir=None, rules_dir=None,
        shared: bool = False, hosts: tuple[str, ...] = (), limits: Limits = LIMITS,
        brand_file: str | None = None) -> None:
    """Serve until stopped (Ctrl-C, SIGTERM). The store's schema and secrets are made by the
    caller first (``serve`` prints the admin link from them); so is ``brand_file`` checked
    (each worker process reads it again)."""
    import uvicorn

    settings = {"db": db_url, "kb_dir": kb_dir, "rules_dir": rules_dir, "shared": shared, "hosts": list(hosts),
                "limits": asdict(limits), "brand": os.path.abspath(brand_file) if brand_file else None}
    if workers <= 1:
        from kam_advisor.store import open_store
        from kam_advisor.web.app import build
        store = open_store(db_url)
        try:
            app, _ = build(store, kb_dir=kb_dir, rules_dir=rules_dir, shared=shared, hosts=hosts,
                           brand=_brand(settings["brand"]))
            uvicorn.run(app, host=host, port=port, http=protocol(limits), **uvicorn_options(limits))
        finally:
            store.close()
        return
    os.environ[ENV] = json.dumps(settings)
    try:
        uvicorn.run("kam_advisor.web.server:worker_app", factory=True, host=host, port=port, workers=workers,
                    http="kam_advisor.web.server:GuardedH11Protocol", **uvicorn_options(limits))
    finally:
        os.environ.pop(ENV, None)


def worker_app():
    """The application of one worker process, from the settings ``run`` left in the environment."""
    global LIMITS
    from kam_advisor.store import open_store
    from kam_advisor.web.app import build
    settings = json.loads(os.environ[ENV])
    LIMITS = Limits(**settings["limits"])
    store = open_store(settings["db"])
    app, _ = build(store, kb_dir=settings["kb_dir"], rules_dir=settings["rules_dir"], shared=settings["shared"],
                   hosts=tuple(settings["hosts"]), brand=_brand(settings.get("brand")))
    return app


def _brand(path: str | None):
    from kam_advisor.data.brand import load_brand
    return load_brand(path) if path else None
