"""The ``serve`` command: the web questionnaire on this machine (127.0.0.1 unless --host).

Prints the address and the consultant's admin link (with a token made at start-up, as Jupyter
does); respondents get their own links from the consultant's page.
"""

from __future__ import annotations

import ipaddress

import click

from kam_advisor.cli.shared import GuardedCommand, GuardedGroup, guard
from kam_advisor.cli.store import db_option

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("serve", cls=GuardedCommand)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine shares the questionnaire on the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port to listen on.")
@db_option
@click.pass_context
@guard
def serve(ctx, host, port, db_url):
    """Run the web questionnaire: engagements, one link per respondent, the combined report."""
    import uvicorn

    from kam_advisor.cli.shared import root_options
    from kam_advisor.store import open_store
    from kam_advisor.web.app import build

    obj = root_options(ctx)
    store = open_store(db_url)
    app, token = build(store, kb_dir=obj.get("kb_dir"), rules_dir=obj.get("rules_dir"), shared=not _is_loopback(host))
    shown = f"[{host}]" if ":" in host else host
    if not _is_loopback(host):
        click.echo(f"kam-advisor: warning: listening on {host}: anyone who can reach this machine on port {port} "
                   "can open the questionnaire pages (plain HTTP, no encryption); links and the admin token "
                   "are the only protection", err=True)
    click.echo(f"kam-advisor web questionnaire at http://{shown}:{port}/", err=True)
    click.echo(f"consultant page (keep it private): http://{shown}:{port}/admin?token={token}", err=True)
    click.echo(f"answers are stored in {store.url}; press Ctrl-C to stop", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False,
                    limit_concurrency=100, timeout_keep_alive=5)
    finally:
        store.close()
