"""The knowledge base: loading, validation and the immutable model the rest of the advisor reads.

A knowledge base is a folder of YAML files (``knowledge/`` by default). Every file names its
``kind``; ``kam_advisor/schemas/<kind>.yaml`` is that kind's schema. Loading validates every
file, checks ids and references across files, and builds a read-only model. Nothing about KAM
itself is written here: it all comes from the data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from kam_advisor.data import cache, schema
from kam_advisor.data.errors import DataError, DataErrors, display_path
from kam_advisor.data.paths import data_dir
from kam_advisor.data.rules import RULES_KINDS
from kam_advisor.data.yamlio import LineDict, plain

CORE_KINDS = ("manifest", "stages", "facets", "checklist")


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    short: str
    description: str
    order: int
    source: str
    hallmarks: tuple = ()  # ({text, topic}, ...)


@dataclass(frozen=True)
class Item:
    id: str
    dimension: str
    area: str
    topic: str
    stage: str
    text: str
    facets: tuple[str, ...]
    source: str
    replaces: tuple[str, ...] = ()     # ids this action had in earlier versions (renamed or moved)
    label: str = ""                    # the text, with its stage where another action has the same text


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    area: str
    dimension: str
    items: tuple[str, ...]
    source: str
    # what a reader sees in a list of topics: the name, with its area where two topics share it
    # (the checklist has "Customers" under Planning & objectives and under Research)
    label: str = ""


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    dimension: str
    topics: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Dimension:
    id: str
    name: str
    areas: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Facet:
    id: str
    number: int
    name: str
    summary: str
    considerations: tuple[Mapping[str, str], ...]
    items: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Record:
    """Any record with an id, with where it was defined (for ``kb show`` and error messages)."""

    id: str
    kind: str
    path: str
    line: int
    data: Mapping[str, Any]


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    title: str
    root: str
    stages: tuple[Stage, ...]
    dimensions: Mapping[str, Dimension]
    areas: Mapping[str, Area]
    topics: Mapping[str, Topic]
    items: Mapping[str, Item]
    facets: Mapping[str, Facet]
    records: Mapping[str, Record]
    models: Mapping[str, Any]
    sources: Mapping[str, str]
    digest: str = field(default="")

    @cached_property
    def stage_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.stages)

    def stage(self, stage_id: str) -> Stage:
        return next(s for s in self.stages if s.id == stage_id)

    def items_of(self, topic_id: str, stage_id: str | None = None) -> list[Item]:
        items = [self.items[i] for i in self.topics[topic_id].items]
        return [i for i in items if stage_id is None or i.stage == stage_id]

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Earlier action ids -> the current action that replaces them (``replaces:`` in the checklist)."""
        return {old: item.id for item in self.items.values() for old in item.replaces}


def default_root() -> Path:
    return data_dir("knowledge")


def _files(root: Path) -> list[Path]:
    if not root.exists():
        raise DataError("knowledge-base folder not found", root)
    if not root.is_dir():
        raise DataError("is not a folder; expected a knowledge-base folder", root)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise DataError("no YAML files in the knowledge-base folder", root)
    return files


def schema_kinds_for_docs() -> list[str]:
    """The kinds of file a knowledge-base folder may hold (not questionnaires, plans, history
    exports, nor rules-folder kinds)."""
    return [k for k in schema.schema_kinds() if not k.startswith("answers")
            and k not in ("questionnaire", "plan", "history-export") and k not in RULES_KINDS]


def load(root: str | Path | None = None) -> KnowledgeBase:
    """Load and validate a knowledge base; raise DataErrors listing every problem found."""
    root = Path(root) if root is not None else default_root()
    docs, errors = schema.read_documents(_files(root), schema_kinds_for_docs())
    index = schema.IdIndex()
    for path, kind, data in docs:
        schema.collect_ids(kind, data, path, index)
    for path, kind, data in docs:
        errors.extend(schema.validate(kind, data, path, index))
    errors.extend(index.duplicates)
    if errors:
        raise DataErrors(_sorted(errors))
    kb, more = _build(root, docs, index)
    if more:
        raise DataErrors(_sorted(more))
    return kb


def _sorted(errors: list[DataError]) -> list[DataError]:
    return sorted(errors, key=lambda e: (str(e.path), e.line or 0, e.message))


def _build(root: Path, docs, index: schema.IdIndex) -> tuple[KnowledgeBase | None, list[DataError]]:
    errors: list[DataError] = []
    by_kind: dict[str, list[tuple[Path, LineDict]]] = {}
    for path, kind, data in docs:
        by_kind.setdefault(kind, []).append((path, data))

    def single(kind: str):
        found = by_kind.get(kind, [])
        if len(found) != 1:
            where = found[1][0] if len(found) > 1 else root
            errors.append(DataError(f"expected exactly one '{kind}' file, found {len(found)}", where))
            return None
        return found[0]

    manifest = single("manifest")
    stages_doc = single("stages")
    facets_doc = single("facets")
    if errors:
        return None, errors
    m_path, m = manifest
    checks = m.get("checks", {})

    stages = tuple(Stage(s["id"], s["name"], s.get("short", s["name"]), s["description"], n, s["source"],
                         tuple(plain(h) for h in s.get("hallmarks", ())))
                   for n, s in enumerate(stages_doc[1]["stages"]))
    stage_ids = {s.id for s in stages}

    dimensions, areas, topics, items = {}, {}, {}, {}
    replaced: dict[str, tuple] = {}    # old action id -> (the action replacing it, file, line)
    facet_items: dict[str, list[str]] = {}
    for path, doc in by_kind.get("checklist", []):
        dim = doc["dimension"]
        area_ids = []
        for area in doc["areas"]:
            if not area["id"].startswith(dim["id"] + "."):
                errors.append(DataError(f"area '{area['id']}': id must start with its dimension id '{dim['id']}.'",
                                        path, area.line_of("id")))
            topic_ids = []
            for topic in area["topics"]:
                if not topic["id"].startswith(area["id"] + "."):
                    errors.append(DataError(f"topic '{topic['id']}': id must start with its area id '{area['id']}.'",
                                            path, topic.line_of("id")))
                item_ids = []
                for item in topic["items"]:
                    iid = item["id"]
                    if not iid.startswith(topic["id"] + "."):
                        errors.append(DataError(f"item '{iid}': id must start with its topic id '{topic['id']}.'",
                                                path, item.line_of("id")))
                    if item["stage"] not in stage_ids:
                        errors.append(DataError(f"item '{iid}': stage must be one of {', '.join(sorted(stage_ids))}"
                                                f" (got '{item['stage']}')", path, item.line_of("stage")))
                    elif iid.rsplit(".", 1)[-1][0].upper() != item["stage"]:
                        errors.append(DataError(f"item '{iid}': id's stage letter does not match stage '{item['stage']}'",
                                                path, item.line_of("id")))
                    items[iid] = Item(iid, dim["id"], area["id"], topic["id"], item["stage"], item["text"],
                                      tuple(item["facets"]), item["source"], tuple(item.get("replaces") or ()))
                    for old in item.get("replaces") or ():
                        if old in replaced:
                            errors.append(DataError(f"item '{iid}': '{old}' is already replaced by '{replaced[old][0]}'",
                                                    path, item.line_of("replaces")))
                        replaced[old] = (iid, path, item.line_of("replaces"))
                    for f in item["facets"]:
                        facet_items.setdefault(f, []).append(iid)
                    item_ids.append(iid)
                topics[topic["id"]] = Topic(topic["id"], topic["name"], area["id"], dim["id"], tuple(item_ids),
                                            topic["source"], label=topic.get("label", ""))
                topic_ids.append(topic["id"])
            areas[area["id"]] = Area(area["id"], area["name"], dim["id"], tuple(topic_ids), area["source"])
            area_ids.append(area["id"])
        dimensions[dim["id"]] = Dimension(dim["id"], dim["name"], tuple(area_ids), dim["source"])

    shared = {n for n in (t.name for t in topics.values()) if sum(t.name == n for t in topics.values()) > 1}
    topics = {tid: replace(t, label=t.label or (f"{t.name} ({areas[t.area].name})" if t.name in shared else t.name))
              for tid, t in topics.items()}
    counts: dict[str, int] = {}
    for i in items.values():
        counts[i.text] = counts.get(i.text, 0) + 1
    items = {iid: replace(i, label=f"{i.text} (stage {i.stage})" if counts[i.text] > 1 else i.text)
             for iid, i in items.items()}
    for old, (iid, path, line) in replaced.items():
        if old in items:
            errors.append(DataError(f"item '{iid}': replaces '{old}', which is still an action of the knowledge base",
                                    path, line))
    facets = {}
    min_items = checks.get("min_actions_per_facet", 1)
    for f in facets_doc[1]["facets"]:
        mapped = tuple(facet_items.get(f["id"], ()))
        if len(mapped) < min_items:
            errors.append(DataError(f"facet '{f['id']}': must have at least {min_items} checklist actions mapped to it"
                                    f" (got {len(mapped)})", facets_doc[0], f.line_of("id")))
        facets[f["id"]] = Facet(f["id"], f["number"], f["name"], f["summary"],
                                tuple(MappingProxyType(plain(c)) for c in f["considerations"]), mapped, f["source"])
    if not items:
        errors.append(DataError("no checklist items: expected at least one 'checklist' file", root))

    records = {rid: Record(rid, e.kind, str(e.path), e.line, MappingProxyType(plain(e.record)))
               for rid, e in index.entries.items()}
    models = {kind: [plain(d) for _, d in entries] if len(entries) > 1 else plain(entries[0][1])
              for kind, entries in sorted(by_kind.items()) if kind not in CORE_KINDS}
    sources = {s["id"]: s["title"] for s in m.get("sources", [])}
    kb = KnowledgeBase(
        version=m["version"], title=m["title"], root=str(root), stages=stages,
        dimensions=MappingProxyType(dimensions), areas=MappingProxyType(areas), topics=MappingProxyType(topics),
        items=MappingProxyType(items), facets=MappingProxyType(facets), records=MappingProxyType(records),
        models=MappingProxyType(models), sources=MappingProxyType(sources),
    )
    digest = hashlib.sha256(json.dumps(export(kb), sort_keys=True).encode()).hexdigest()
    object.__setattr__(kb, "digest", digest)
    return kb, errors


def export(kb: KnowledgeBase) -> dict:
    """The whole knowledge base as one plain document (the `kb export` JSON contract)."""
    return {
        "version": kb.version,
        "title": kb.title,
        "stages": [{"id": s.id, "name": s.name, "short": s.short, "description": s.description,
                    "source": s.source} for s in kb.stages],
        "dimensions": [{"id": d.id, "name": d.name, "areas": list(d.areas), "source": d.source}
                       for d in kb.dimensions.values()],
        "areas": [{"id": a.id, "name": a.name, "dimension": a.dimension, "topics": list(a.topics),
                   "source": a.source} for a in kb.areas.values()],
        "topics": [{"id": t.id, "name": t.name, "area": t.area, "dimension": t.dimension,
                    "items": list(t.items), "source": t.source, "label": t.label} for t in kb.topics.values()],
        "items": [{"id": i.id, "dimension": i.dimension, "area": i.area, "topic": i.topic, "stage": i.stage,
                   "text": i.text, "source": i.source, "facets": list(i.facets), "label": i.label}
                  for i in kb.items.values()],
        "facets": [{"id": f.id, "number": f.number, "name": f.name, "summary": f.summary,
                    "considerations": [dict(c) for c in f.considerations], "items": list(f.items),
                    "source": f.source} for f in kb.facets.values()],
        "models": {k: v for k, v in kb.models.items()},
        "sources": [{"id": k, "title": v} for k, v in kb.sources.items()],
    }


_CACHE: dict[str, KnowledgeBase] = {}


def load_cached(root: str | Path | None = None) -> KnowledgeBase:
    """Load once per process (batch runs and benchmarks assess many files against one base), and
    across processes from the on-disk cache when the same files were validated before."""
    folder = Path(root) if root is not None else default_root()
    key = str(folder.resolve())
    if key not in _CACHE:
        _CACHE[key] = cache.cached("knowledge", _files(folder), lambda: load(folder))
    return _CACHE[key]


def stats(kb: KnowledgeBase) -> dict:
    """Counts of checklist actions per dimension, area, topic and stage (plain data)."""
    stage_ids = kb.stage_ids

    def row(kind, rid, name, items):
        per_stage = {s: sum(1 for i in items if i.stage == s) for s in stage_ids}
        return {"level": kind, "id": rid, "name": name, "total": len(items), "stages": per_stage}

    rows = []
    for dim in kb.dimensions.values():
        dim_items = [i for i in kb.items.values() if i.dimension == dim.id]
        rows.append(row("dimension", dim.id, dim.name, dim_items))
        for aid in dim.areas:
            area = kb.areas[aid]
            rows.append(row("area", aid, area.name, [i for i in dim_items if i.area == aid]))
            for tid in area.topics:
                rows.append(row("topic", tid, kb.topics[tid].name, kb.items_of(tid)))
    total = row("total", "", "All actions", list(kb.items.values()))
    return {"version": kb.version, "stages": list(stage_ids), "rows": rows, "total": total,
            "counts": {"dimensions": len(kb.dimensions), "areas": len(kb.areas), "topics": len(kb.topics),
                       "items": len(kb.items), "stages": len(kb.stages), "facets": len(kb.facets)},
            "facets": {f.id: len(f.items) for f in kb.facets.values()}}


def show(kb: KnowledgeBase, rid: str) -> dict:
    """One record by id, with its kind and where it is defined; unknown ids suggest near ones."""
    record = kb.records.get(rid)
    if record is None:
        import difflib
        near = difflib.get_close_matches(rid, list(kb.records), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise DataError(f"no record with id '{rid}' in the knowledge base{hint}", None)
    data = dict(record.data)
    extra: dict[str, Any] = {}
    if record.kind == "item":
        item = kb.items[rid]
        extra = {"dimension": kb.dimensions[item.dimension].name, "area": kb.areas[item.area].name,
                 "topic": kb.topics[item.topic].name, "stage_name": kb.stage(item.stage).name,
                 "facet_names": [kb.facets[f].name for f in item.facets]}
    elif record.kind == "facet":
        extra = {"items": list(kb.facets[rid].items)}
    elif record.kind == "topic":
        data.pop("items", None)
        extra = {"items": [f"{i} [{kb.items[i].stage}] {kb.items[i].text}" for i in kb.topics[rid].items]}
    elif record.kind in ("area", "dimension"):
        data.pop("topics" if record.kind == "area" else "areas", None)
        children = kb.areas[rid].topics if record.kind == "area" else kb.dimensions[rid].areas
        extra = {"contains": list(children)}
    return {"id": rid, "kind": record.kind, "defined_at": f"{display_path(record.path)}:{record.line}", "data": data,
            "extra": extra}
