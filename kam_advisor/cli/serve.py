"""The ``serve`` command: the web questionnaire on this machine (127.0.0.1 unless --host).

Prints the address and the consultant's admin link (the token is kept in the store, so the
link outlives restarts; --new-admin-token makes a new one); respondents get their own links
from the consultant's page. --workers N runs N worker processes over one database.
"""

from __future__ import annotations

import ipaddress

import click

from kam_advisor.cli.shared import GuardedCommand, brand_option, guard, load_brand_option
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
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (they share only the database; use PostgreSQL for a team).")
@click.option("--public-host", "hosts", multiple=True, metavar="NAME",
              help="A name the site is reached by through a reverse proxy (e.g. kam.example.com); repeatable.")
@click.option("--new-admin-token", is_flag=True, help="Make a new admin token (the old admin link stops working).")
@brand_option
@db_option
@click.pass_context
@guard
def serve(ctx, host, port, workers, hosts, new_admin_token, brand_file, db_url):
    """Run the web questionnaire: engagements, one link per respondent, the combined report."""
    from kam_advisor.cli.shared import root_options
    from kam_advisor.store import engagements, open_store
    from kam_advisor.web import server

    obj = root_options(ctx)
    load_brand_option(brand_file)              # a bad brand file stops here, before anything starts
    server.check_address(host, port)
    with open_store(db_url) as store:           # the schema and the kept secrets, before any worker starts
        token = engagements.web_secrets(store, new_admin_token=new_admin_token).admin_token
        url = store.engine.url
    shown = f"[{host}]" if ":" in host else host
    if not _is_loopback(host):
        click.echo(f"kam-advisor: warning: listening on {host}: anyone who can reach this machine on port {port} "
                   "can open the questionnaire pages (plain HTTP, no encryption); links and the admin token "
                   "are the only protection", err=True)
    click.echo(f"kam-advisor web questionnaire at http://{shown}:{port}/", err=True)
    click.echo(f"consultant page (keep it private): http://{shown}:{port}/admin?token={token}"
               + (" (a new admin token)" if new_admin_token else ""), err=True)
    where = url.render_as_string(hide_password=True)
    click.echo(f"answers are stored in {where}"
               + (f"; {workers} worker processes" if workers > 1 else "") + "; press Ctrl-C to stop", err=True)
    server.run(db_url=url.render_as_string(hide_password=False), host=host, port=port, workers=workers,
               kb_dir=obj.get("kb_dir"), rules_dir=obj.get("rules_dir"), shared=not _is_loopback(host),
               hosts=tuple(hosts), brand_file=brand_file)
