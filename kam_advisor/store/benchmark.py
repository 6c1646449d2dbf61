"""The peer benchmark: where an organisation's latest audit stands among the latest audits of the
other organisations in the store, computed in SQL over ``audits`` and ``audit_scores``.

Measure: each audit's checklist score of the programme, each dimension and each topic (0-100:
done actions count 1, partly done 0.5, not started 0, over the known answers of the unit's
topics; the score the report gives a dimension), kept in ``audit_scores`` when the audit is
saved. Percentile of a value among n peers: 100 x (peers strictly below + half the peers
equal) / n, rounded half up. Median stage: the stage achieved by the peer in the middle when
ranked (no stage, A, B, ...), the lower of the two middle ones for an even count.

Anonymous by construction: only counts and aggregates leave the database, never another
organisation's name, id or figure; a group (or a unit measured) of fewer than ``min_peers``
other organisations (rules/benchmark/peers.yaml) shows no figure and says why.
"""

from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from kam_advisor.data import peers as peer_data
from kam_advisor.data.errors import DataError
from kam_advisor.store.schema import audit_scores as scores_t, audits as audits_t
from kam_advisor.store.scores import score_rows  # noqa: F401  (what a save writes; named here too)

SCOPES = ("programme", "dimension", "topic")
STAGES = ("A", "B", "C", "D")   # when a stored result names none (knowledge/stages.yaml's)
KIND = "benchmark"
SCHEMA_VERSION = 1




def _latest():
    """The latest whole-organisation audit of every organisation: an audit of no unit with no later
    one of the same organisation (by date, then time saved, then id). Read from the covering index
    audits_by_peer_group, never the audit rows; an anti-join, which both databases estimate well
    (a window's "rank = 1" is estimated at a few rows and picks a plan for a few)."""
    a, later = audits_t.alias("a"), audits_t.alias("later")
    newer = sa.select(later.c.id).where(later.c.unit.is_(None), later.c.organisation == a.c.organisation,
                                        sa.tuple_(later.c.date, later.c.saved_at, later.c.id)
                                        > sa.tuple_(a.c.date, a.c.saved_at, a.c.id)).exists()
    return sa.select(a.c.id, a.c.organisation, a.c.sector, a.c.size_band).where(a.c.unit.is_(None), ~newer).subquery(
        "latest")


def _percentile(below: int, ties: int, n: int) -> int:
    return int((200 * below + 100 * ties + n) // (2 * n))   # 100 * (below + ties / 2) / n, half up


def _median_stage(counts: Mapping[str | None, int], stage_ids: list[str]) -> str | None:
    order = [None] + stage_ids
    n = sum(counts.values())
    position, seen = (n + 1) // 2, 0
    for stage in order:
        seen += counts.get(stage, 0)
        if seen >= position:
            return stage
    return None


def benchmark(store, organisation: str, sector: str | None = None, size: str | None = None,
              rules: peer_data.PeerRules | None = None, result: Mapping[str, Any] | None = None) -> dict:
    """The benchmark of ORGANISATION's latest whole-organisation audit as plain data; with
    ``result`` (an assessment not necessarily saved, as ``report --benchmark`` has), of that.

    ``sector``/``size``: the peer group (default: the organisation's own, as last saved;
    ``"any"``: every sector or size). Raises DataError for an unknown organisation or size band."""
    rules = rules or peer_data.load()
    given_sector = None if sector is None else (peer_data.ANY if str(sector).strip().lower() == peer_data.ANY
                                                else peer_data.normalise_sector(sector))
    given_size = peer_data.check_size(size, rules, allow_any=True)
    with store.engine.connect() as conn:
        own = conn.execute(sa.select(audits_t.c.id, audits_t.c.date, audits_t.c.sector, audits_t.c.size_band,
                                     audits_t.c.stage_achieved)
                           .where(audits_t.c.organisation == organisation, audits_t.c.unit.is_(None))
                           .order_by(audits_t.c.date.desc(), audits_t.c.saved_at.desc(), audits_t.c.id.desc())
                           .limit(1)).first()
        if own is None and result is None:
            _no_audit(store, conn, organisation)
        if result is None:
            from kam_advisor.store.audits import _stored_object
            result = _stored_object(conn.execute(sa.select(audits_t.c.result).where(audits_t.c.id == own.id))
                                    .scalar_one())
            mine = [{"scope": r.scope, "ref": r.ref, "value": r.value, "stage": r.stage} for r in conn.execute(
                sa.select(scores_t.c.scope, scores_t.c.ref, scores_t.c.value, scores_t.c.stage)
                .where(scores_t.c.audit_id == own.id))]
            audit = {"id": own.id, "date": own.date, "stage": own.stage_achieved}
        else:
            mine = score_rows("", result)
            audit = {"id": None, "date": result.get("date"), "stage": (result.get("overall") or {}).get("achieved")}
        group_sector = (own.sector if own is not None else None) if given_sector is None else \
            (None if given_sector == peer_data.ANY else given_sector)
        group_size = (own.size_band if own is not None else None) if given_size is None else \
            (None if given_size == peer_data.ANY else given_size)
        latest = _latest()
        peers = sa.select(latest.c.id).where(latest.c.organisation != organisation)
        if group_sector is not None:
            peers = peers.where(latest.c.sector == group_sector)
        if group_size is not None:
            peers = peers.where(latest.c.size_band == group_size)
        group = conn.execute(sa.select(sa.func.count()).select_from(peers.subquery())).scalar_one()
        stage_ids = [x.get("id") for x in result.get("stages") or [] if isinstance(x, dict)] or list(STAGES)
        figures = []
        if group >= rules.min_peers and mine:
            figures = conn.execute(_ranks(peers, own.id if audit["id"] else mine, stage_ids)).all()
    return _document(organisation, audit, result, group_sector, group_size, group, figures,
                     {(r["scope"], r["ref"]): r for r in mine}, rules, stage_ids)


def _ranks(peers, mine, stage_ids):
    """One row per unit of the organisation's own audit: the peers measured there, how many below
    and equal to its score, how many at each stage. ``mine``: the id of the stored audit (its
    scores, read in key order, drive the query: no sort of the peers' rows), or the score rows
    of a result not saved."""
    s = scores_t.alias("s")
    if isinstance(mine, str):
        me = scores_t.alias("me")
        where = [me.c.audit_id == mine]
    else:
        me = sa.union_all(*(sa.select(sa.cast(sa.literal(r["scope"]), sa.Text).label("scope"),
                                      sa.cast(sa.literal(r["ref"]), sa.Text).label("ref"),
                                      sa.cast(sa.literal(r["value"]), sa.Float).label("value"))
                            for r in mine)).subquery("me")
        where = []

    def count(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))
    return (sa.select(me.c.scope, me.c.ref, sa.func.count().label("n"), count(s.c.value < me.c.value).label("below"),
                      count(s.c.value == me.c.value).label("ties"), count(s.c.stage.is_(None)).label("none"),
                      *(count(s.c.stage == stage).label(f"stage_{n}") for n, stage in enumerate(stage_ids)))
            .select_from(me.join(s, sa.and_(s.c.scope == me.c.scope, s.c.ref == me.c.ref)))
            .where(*where, s.c.audit_id.in_(peers))
            .group_by(me.c.scope, me.c.ref))


def _no_audit(store, conn, organisation: str):
    units = conn.execute(sa.select(sa.func.count()).where(audits_t.c.organisation == organisation)).scalar_one()
    if units:
        raise DataError(f"'{organisation}' has audits of its units only: the benchmark places an audit of the "
                        "whole organisation (save one without --unit)")
    # no "did you mean": the benchmark never names another organisation, not even in an error
    raise DataError(f"no audits of '{organisation}' in {store.url} (`kam-advisor history` lists the "
                    "organisations kept)")


def _document(organisation, audit, result, sector, size, group, figures, mine, rules, stage_ids) -> dict:
    """The benchmark document; names of the units come from the organisation's own result."""
    names = {("programme", "programme"): (result.get("overall") or {}).get("name") or "KAM programme"}
    for scope, key in (("dimension", "dimensions"), ("topic", "topics")):
        names.update({(scope, u.get("id")): u.get("name") for u in result.get(key) or [] if isinstance(u, dict)})
    agg: dict[tuple, dict] = {}
    for r in figures:
        agg[(r.scope, r.ref)] = {"n": r.n, "below": int(r.below or 0), "ties": int(r.ties or 0),
                                 "stages": {None: int(r.none or 0), **{stage: int(getattr(r, f"stage_{n}") or 0)
                                                                       for n, stage in enumerate(stage_ids)}}}
    shown = group >= rules.min_peers
    withheld = (None if shown else
                f"the peer group holds {group} other organisation{'' if group == 1 else 's'}, fewer than "
                f"{rules.min_peers}: a figure over so few could reveal one organisation's result")

    def entry(key):
        r = mine[key]
        a = agg.get(key)
        ok = shown and a is not None and a["n"] >= rules.min_peers
        return {"scope": key[0], "id": key[1], "name": names.get(key) or key[1],
                "score": r["value"], "stage": r["stage"],
                "peers": a["n"] if ok else None,
                "percentile": _percentile(a["below"], a["ties"], a["n"]) if ok else None,
                "peer_median_stage": _median_stage(a["stages"], stage_ids) if ok else None,
                "withheld": None if ok else (withheld or f"fewer than {rules.min_peers} peers measured here")}
    order, place = {scope: n for n, scope in enumerate(SCOPES)}, {k: n for n, k in enumerate(names)}
    keys = sorted(mine, key=lambda k: (order[k[0]], place.get(k, len(place)), k[1]))  # the result's order
    programme = [entry(k) for k in keys if k[0] == "programme"]
    return {"kind": KIND, "schema_version": SCHEMA_VERSION, "organisation": organisation,
            "audit": audit,
            "group": {"sector": sector, "size_band": size,
                      "size_band_name": rules.band(size)["name"] if size else None,
                      "peers": group, "min_peers": rules.min_peers, "shown": shown, "withheld": withheld},
            "measure": "checklist score 0-100 (done 1, partly done 0.5, not started 0, over known answers)",
            "percentile_rule": "100 x (peers strictly below + half the peers equal) / peers, rounded half up",
            "stages": stage_ids,
            "programme": programme[0] if programme else None,
            "dimensions": [entry(k) for k in keys if k[0] == "dimension"],
            "topics": [entry(k) for k in keys if k[0] == "topic"]}

