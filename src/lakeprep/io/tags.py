"""Publications and tags in the Delta table ``_lakeprep.tags`` (write-audit-publish and time travel).

* **publish**: after a layer's commit passed its gate, :func:`publish` records ``(table, version)`` for
  each of its tables. :func:`published_version` is what downstream layers read (time travel), so a
  version whose gate failed stays visible in the table history but is never consumed.
* **tags**: a named, consistent set of ``(table, published version)`` pairs across layers plus the MDS
  manifest. A successful build creates ``build-<run id>``; ``lakeprep tag create NAME`` makes more. Every
  tag write is one Delta commit whose ``userMetadata`` carries the tag and its versions.
* **revocation**: a forget request revokes tags whose versions still hold forgotten rows; a revoked tag
  cannot be checked out or rebuilt, and ``lakeprep vacuum`` stops protecting its files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.errors import LakeprepError
from lakeprep.io.delta import commit_metadata, create_table_if_missing, quote_path, read_table, table_exists
from lakeprep.schemas import TAGS

__all__ = [
    "TAGS_TABLE",
    "Tag",
    "TagError",
    "create_tag",
    "get_tag",
    "list_tags",
    "publish",
    "published_version",
    "published_versions",
    "revoke_tags",
]

TAGS_TABLE = "_lakeprep.tags"
_TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class TagError(LakeprepError):
    """A tag that does not exist, already exists, or was revoked."""


@dataclass(frozen=True)
class Tag:
    """A named set of table versions."""

    name: str
    kind: str
    run_id: str
    created: datetime
    tables: Mapping[str, int] = field(default_factory=dict)
    mds_manifest: Mapping[str, Any] | None = None
    note: str | None = None
    revoked: str | None = None


def _path(cfg: Config) -> str:
    return cfg.storage.table_path(TAGS_TABLE)


def _append(spark: SparkSession, cfg: Config, rows: list[tuple], meta: Mapping[str, Any]) -> None:
    path = _path(cfg)
    create_table_if_missing(spark, path, TAGS, metadata={**meta, "table": TAGS_TABLE})
    with commit_metadata(spark, {**meta, "table": TAGS_TABLE}):
        spark.createDataFrame(rows, TAGS).write.format("delta").mode("append").save(path)


def publish(spark: SparkSession, cfg: Config, *, layer: str, versions: Mapping[str, int], run_id: str) -> str:
    """Record that ``versions`` (table -> version) passed the ``layer`` gate; return the publication name."""
    name = f"publish/{layer}/{run_id}"
    now = datetime.now(timezone.utc)
    rows = [(name, "publish", t, int(v), run_id, now, None, None, None) for t, v in sorted(versions.items())]
    _append(spark, cfg, rows, {"run_id": run_id, "tag": name, "kind": "publish", "tables": dict(versions)})
    return name


def published_versions(spark: SparkSession, cfg: Config) -> dict[str, int]:
    """table -> newest published version (tables never published are absent)."""
    if not table_exists(spark, _path(cfg)):
        return {}
    df = read_table(spark, _path(cfg), name=TAGS_TABLE).where(F.col("kind") == "publish")
    newest = df.groupBy("table_name").agg(F.max(F.struct("created_ts", "version")).alias("m"))
    return {r["table_name"]: int(r["m"]["version"]) for r in newest.collect()}


def published_version(spark: SparkSession, cfg: Config, table: str) -> int | None:
    """The version of ``table`` downstream layers read (None if it was never published)."""
    return published_versions(spark, cfg).get(table)


def create_tag(
    spark: SparkSession,
    cfg: Config,
    name: str,
    *,
    run_id: str,
    kind: str = "named",
    note: str | None = None,
    mds_manifest: Mapping[str, Any] | None = None,
    existing: Sequence[Tag] | None = None,
) -> Tag:
    """Tag the newest published version of every table (and the MDS manifest) as ``name``.

    ``existing``: every tag of the lake, revoked ones too (:func:`list_tags`), when the caller holds the
    lake and has just read them; otherwise they are read here to check that ``name`` is new."""
    if not _TAG_NAME.match(name) or name.startswith("publish"):
        raise TagError(f"tag name {name!r} must match {_TAG_NAME.pattern} and not start with 'publish'")
    if existing is None:
        existing = list_tags(spark, cfg, include_revoked=True)
    if any(t.name == name for t in existing):
        raise TagError(f"tag {name!r} already exists; tags are immutable, pick another name")
    versions = published_versions(spark, cfg)
    if not versions:
        raise TagError("nothing is published yet: run `lakeprep build` first")
    now = datetime.now(timezone.utc)
    manifest = json.dumps(dict(mds_manifest), sort_keys=True) if mds_manifest else None
    rows = [(name, kind, t, v, run_id, now, manifest, note, None) for t, v in sorted(versions.items())]
    _append(spark, cfg, rows, {"run_id": run_id, "tag": name, "kind": kind, "tables": versions})
    return Tag(name, kind, run_id, now, versions, mds_manifest, note, None)


def list_tags(spark: SparkSession, cfg: Config, *, include_revoked: bool = True) -> list[Tag]:
    """Build and named tags, oldest first."""
    if not table_exists(spark, _path(cfg)):
        return []
    rows = read_table(spark, _path(cfg), name=TAGS_TABLE).where(F.col("kind") != "publish").collect()
    by_name: dict[str, list[Any]] = {}
    for r in rows:
        by_name.setdefault(r["tag"], []).append(r)
    tags = []
    for name, rs in by_name.items():
        first = rs[0]
        revoked = next((r["revoked"] for r in rs if r["revoked"]), None)
        tags.append(
            Tag(
                name=name,
                kind=first["kind"],
                run_id=first["run_id"],
                created=first["created_ts"],
                tables={r["table_name"]: int(r["version"]) for r in rs},
                mds_manifest=json.loads(first["mds_manifest"]) if first["mds_manifest"] else None,
                note=first["note"],
                revoked=revoked,
            )
        )
    tags.sort(key=lambda t: (t.created, t.name))
    return [t for t in tags if include_revoked or not t.revoked]


def get_tag(spark: SparkSession, cfg: Config, name: str, *, allow_revoked: bool = False) -> Tag:
    """The tag ``name``; :class:`TagError` if it does not exist or was revoked."""
    tag = next((t for t in list_tags(spark, cfg) if t.name == name), None)
    if tag is None:
        known = [t.name for t in list_tags(spark, cfg)][-10:]
        raise TagError(f"no tag {name!r}; recent tags: {known} (see `lakeprep tag list`)")
    if tag.revoked and not allow_revoked:
        raise TagError(f"tag {name!r} was revoked ({tag.revoked}); its data may be gone")
    return tag


def revoke_tags(spark: SparkSession, cfg: Config, names: list[str], *, reason: str, run_id: str) -> None:
    """Mark tags as revoked (one UPDATE commit)."""
    if not names:
        return
    listed = ", ".join("'" + n.replace("'", "''") + "'" for n in names)
    with commit_metadata(spark, {"run_id": run_id, "table": TAGS_TABLE, "revoke": names, "reason": reason}):
        spark.sql(
            f"UPDATE {quote_path(_path(cfg))} SET revoked = '{reason.replace(chr(39), chr(39) * 2)}' "
            f"WHERE tag IN ({listed}) AND kind != 'publish'"
        )
