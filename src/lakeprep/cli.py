"""``lakeprep`` command line: build, status, history, tag, checkout, diff, rebuild, vacuum, forget.

Every command takes ``--config`` (default ``conf/default.yaml``) and any number of ``--set key=value``
overrides. Errors a user can fix are printed as one line without a traceback, exit code 2.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from lakeprep.config import Config, load_config
from lakeprep.errors import LakeprepError
from lakeprep.io import files
from lakeprep.logs import configure_logging

__all__ = ["TABLE_ALIASES", "exit_with", "main", "run"]

TABLE_ALIASES = {
    "bronze": "bronze.documents",
    "quarantine": "quarantine.bronze",
    "silver": "silver.documents",
    "clusters": "silver.dedup_clusters",
    "index": "silver.minhash_index",
    "chunks": "gold.chunks",
    "tags": "_lakeprep.tags",
    "sequences": "gold.training_sequences",
}


def _at_least_one(text: str) -> int:
    """An argparse type: an integer of at least 1 (``--limit``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default="conf/default.yaml", help="YAML config (default: %(default)s)")
    common.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. --set bronze.max_file_bytes=1024 (repeatable)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    writes = argparse.ArgumentParser(add_help=False)  # commands that hold the lake while they write
    writes.add_argument("--wait", action="store_true", help="if another run holds the lake, wait for it instead of exiting 2")

    p = argparse.ArgumentParser(prog="lakeprep", description="Raw documents -> Delta medallion -> LLM training data.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("build", parents=[common, writes], help="ingest new landing files and build every layer")
    sub.add_parser("status", parents=[common], help="tables, their latest versions and row counts")
    h = sub.add_parser("history", parents=[common], help="Delta versions of a table with run ids and row counts")
    h.add_argument("table", help=f"table name or alias ({', '.join(f'{k}={v}' for k, v in TABLE_ALIASES.items())})")
    h.add_argument("--limit", type=_at_least_one, default=20, help="newest N versions (default: %(default)s)")
    t = sub.add_parser("tag", parents=[common], help="create or list tags (named sets of published table versions)")
    tsub = t.add_subparsers(dest="tag_command", required=True)
    tc = tsub.add_parser("create", parents=[common, writes], help="tag the published version of every table and the MDS manifest")
    tc.add_argument("name")
    tc.add_argument("--note", default=None)
    tsub.add_parser("list", parents=[common], help="tags, oldest first, with their versions")
    c = sub.add_parser("checkout", parents=[common], help="read every table as of a tag (prints versions and rows)")
    c.add_argument("name")
    d = sub.add_parser("diff", parents=[common], help="documents added/removed per table between two tags")
    d.add_argument("a")
    d.add_argument("b")
    r = sub.add_parser("rebuild", parents=[common, writes], help="rebuild gold and MDS from a tag's silver versions")
    r.add_argument("--from-tag", required=True, dest="from_tag")
    v = sub.add_parser("vacuum", parents=[common, writes], help="remove old files, never those a live tag needs")
    v.add_argument("--retain-hours", type=int, default=None, help="default: the shortest safe retention")
    v.add_argument("--force", action="store_true", help="vacuum even files live tags need (they stop working)")
    v.add_argument("--dry-run", action="store_true")
    v.add_argument("--lite", action="store_true", help="find the files to delete in the Delta log, not by listing (fast on object storage)")
    f = sub.add_parser("forget", parents=[common, writes], help="delete documents from every layer (right to be forgotten)")
    f.add_argument("--source", action="append", default=[], metavar="PATH_GLOB", help="source path glob (repeatable)")
    f.add_argument("--doc-id", action="append", default=[], dest="doc_ids", metavar="ID", help="document id (repeatable)")
    f.add_argument("--reason", default="right to be forgotten request")
    pl = sub.add_parser("pipelines", parents=[common], help="run the declarative modules with spark-pipelines (Delta configured)")
    pl.add_argument("action", choices=["run", "dry-run"])
    pl.add_argument("--spec", default="pipelines/declarative/spark-pipeline.yml")
    pl.add_argument("--warehouse", default=None, help="where the tables land (spark.sql.warehouse.dir)")
    pl.add_argument("--full-refresh-all", action="store_true")
    rp = sub.add_parser("report", parents=[common], help="(re-)render report.json/report.html for a tag")
    rp.add_argument("--tag", default=None, help="default: the newest live tag")
    rp.add_argument("--against", default=None, metavar="TAG", help="compare with this tag (default: the previous live tag)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(logging.WARNING if args.quiet else logging.INFO)
    from lakeprep.io.claim import exit_on_sigterm

    exit_on_sigterm()  # a terminated build releases its claim on the lake
    try:
        if args.command == "pipelines":  # the lakeprep config is named in the pipeline spec
            return _cmd_pipelines(args)
        cfg = load_config(args.config, args.overrides)
        return _COMMANDS[args.command](cfg, args)
    except LakeprepError as exc:
        print(f"lakeprep: error: {exc}", file=sys.stderr)
        return 2


def _cmd_pipelines(args: argparse.Namespace) -> int:
    from lakeprep.pipeline.declarative import run_pipeline

    extra = ["--full-refresh-all"] if args.full_refresh_all else []
    if args.action == "dry-run":
        return run_pipeline(args.spec, warehouse=args.warehouse, args=extra, command="dry-run")
    return run_pipeline(args.spec, warehouse=args.warehouse, args=extra)


def _cmd_build(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.pipeline.batch import run_build
    from lakeprep.session import get_spark

    spark = get_spark(cfg.spark, storage=cfg.locations)
    result = run_build(spark, cfg, wait=args.wait)
    print(result.summary())
    return 0


def _cmd_status(cfg: Config, args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from lakeprep.io.catalog import qualified_name
    from lakeprep.io.claim import recent_runs, stale_claim
    from lakeprep.io.delta import history, table_exists
    from lakeprep.io.tags import published_versions
    from lakeprep.schemas import TABLES
    from lakeprep.session import get_spark

    spark = get_spark(cfg.spark, storage=cfg.locations)
    published = published_versions(spark, cfg)
    named = cfg.storage.catalog is not None
    width = max(len(qualified_name(cfg, t) or t) for t in TABLES) if named else 26
    print(f"{'table':<{width}} {'version':>7} {'published':>9} {'rows':>10}  last run")
    unpublished = []
    for name in TABLES:
        path = cfg.storage.table_path(name)
        label = qualified_name(cfg, name) or name  # the catalog name when the tables are registered
        if not table_exists(spark, path):
            print(f"{label:<{width}} {'-':>7} {'-':>9} {'-':>10}  (not built yet)")
            continue
        last = history(spark, path, name=name, limit=1)[-1]  # one row count per table, not per version
        pub = published.get(name)
        if pub is not None and pub != last.version:
            unpublished.append(f"{label} v{pub + 1}..v{last.version}")
        print(
            f"{label:<{width}} {last.version:>7} {_v(pub):>9} {last.rows if last.rows is not None else '-':>10}  {last.run_id or '-'}"
        )
    runs = recent_runs(spark, cfg, limit=5)
    if runs:
        print("\nruns (newest first):")
        now = datetime.now(timezone.utc)
        for r in runs:
            state = r.state
            if state == "running" and stale_claim(r, cfg, now):
                state = "interrupted (claim not released; the next run takes over)"
            ended = f", ended {r.ended:%Y-%m-%d %H:%M:%S}" if r.ended else ""
            print(f"  {r.run_id:<40} {r.command:<8} {state}{ended}" + (f"  ({r.message})" if r.message else ""))
    if unpublished:
        print("\nnot published (written by a run that failed a gate or was interrupted; the next build gates them): "
              + ", ".join(unpublished))
    return 0


def _cmd_history(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.io.catalog import qualified_name, table_for_name
    from lakeprep.io.delta import history
    from lakeprep.schemas import TABLES
    from lakeprep.session import get_spark

    name = TABLE_ALIASES.get(args.table) or table_for_name(cfg, args.table) or args.table
    if name not in TABLES:
        raise LakeprepError(f"unknown table {args.table!r}; known: {sorted(TABLES)} or aliases {sorted(TABLE_ALIASES)}")
    spark = get_spark(cfg.spark, storage=cfg.locations)
    entries = history(spark, cfg.storage.table_path(name), name=name, limit=args.limit)
    print(f"{qualified_name(cfg, name) or name}  ({cfg.storage.table_path(name)})")
    print(f"{'version':>7}  {'timestamp (UTC)':<19}  {'operation':<12}  {'run id':<26}  {'rows':>8}  changes")
    for e in entries:
        print(
            f"{e.version:>7}  {e.timestamp:%Y-%m-%d %H:%M:%S}  {e.operation:<12}  {e.run_id or '-':<26}  "
            f"{e.rows if e.rows is not None else '-':>8}  {e.change_summary}"
        )
    return 0


def _spark(cfg: Config):  # type: ignore[no-untyped-def]
    from lakeprep.session import get_spark

    return get_spark(cfg.spark, storage=cfg.locations)


def _cmd_tag(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.export.mds import read_manifest
    from lakeprep.io.claim import claim_lake
    from lakeprep.io.tags import create_tag, list_tags
    from lakeprep.pipeline.batch import new_run_id

    spark = _spark(cfg)
    if args.tag_command == "create":
        run_id = new_run_id()
        with claim_lake(spark, cfg, run_id=run_id, command="tag", wait=args.wait):
            tag = create_tag(spark, cfg, args.name, run_id=run_id, note=args.note, mds_manifest=read_manifest(cfg.mds_path))
        print(f"tag {tag.name}: " + ", ".join(f"{t} v{v}" for t, v in sorted(tag.tables.items())))
        return 0
    tags = list_tags(spark, cfg)
    if not tags:
        print("no tags yet: `lakeprep build` creates build-<run id>, `lakeprep tag create NAME` more")
        return 0
    print(f"{'tag':<40} {'kind':<6} {'created (UTC)':<19}  {'silver':>6} {'gold':>5} {'MDS':>5}  status")
    for t in tags:
        mds = t.mds_manifest.get("source", {}).get("version") if t.mds_manifest else None
        print(
            f"{t.name:<40} {t.kind:<6} {t.created:%Y-%m-%d %H:%M:%S}  {_v(t.tables.get('silver.documents')):>6} "
            f"{_v(t.tables.get('gold.chunks')):>5} {_v(mds):>5}  {'revoked: ' + t.revoked if t.revoked else 'live'}"
            + (f"  ({t.note})" if t.note else "")
        )
    return 0


def _v(x: object) -> str:
    return "-" if x is None else f"v{x}"


def _cmd_checkout(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.pipeline.ops import checkout

    frames = checkout(_spark(cfg), cfg, args.name)
    print(f"tag {args.name}: every table as of its tagged version")
    print(f"{'table':<28} {'rows':>10}")
    for name, df in frames.items():
        print(f"{name:<28} {df.count():>10}")
    return 0


def _cmd_diff(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.pipeline.ops import diff

    rows = diff(_spark(cfg), cfg, args.a, args.b)
    print(f"{'table':<24} {args.a[:18]:>18} {args.b[:18]:>18} {'+docs':>7} {'-docs':>7}")
    for r in rows:
        print(f"{r.table:<24} {_v(r.version_a):>18} {_v(r.version_b):>18} {r.added:>7} {r.removed:>7}")
        for label, ex in (("+", r.examples_added), ("-", r.examples_removed)):
            for doc in ex:
                print(f"    {label} {doc}")
    return 0


def _cmd_rebuild(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.io.tags import get_tag
    from lakeprep.pipeline.batch import rebuild_gold

    spark = _spark(cfg)
    result = rebuild_gold(spark, cfg, tag=get_tag(spark, cfg, args.from_tag), wait=args.wait)
    print(result.summary())
    return 0


def _cmd_vacuum(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.pipeline.ops import vacuum

    rows = vacuum(_spark(cfg), cfg, retain_hours=args.retain_hours, force=args.force, dry_run=args.dry_run, wait=args.wait, lite=args.lite)
    print(f"{'table':<28} {'keeps from':>10} {'safe h':>7} {'used h':>7}  protected by")
    for r in rows:
        print(
            f"{r.table:<28} {'v' + str(r.oldest_needed_version):>10} {r.safe_retain_hours:>7} {r.retain_hours:>7}  "
            f"{', '.join(r.protected_by) or '-'}{'' if r.vacuumed else '  (dry run)'}"
        )
    return 0


def _cmd_forget(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.pipeline.ops import forget

    result = forget(_spark(cfg), cfg, sources=args.source, doc_ids=args.doc_ids, reason=args.reason, wait=args.wait)
    print(f"forget {result.request_id}: {len(result.doc_ids)} documents")
    for t, n in sorted(result.deleted.items()):
        print(f"  {t:<28} {n:>6} rows deleted (v{result.versions[t]})")
    print(f"  revoked tags: {', '.join(result.revoked_tags) or 'none'}")
    return 0


def _cmd_report(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.io.tags import TagError, get_tag, list_tags
    from lakeprep.report import write_report

    spark = _spark(cfg)
    if args.tag:
        tag = get_tag(spark, cfg, args.tag)
    else:
        live = list_tags(spark, cfg, include_revoked=False)
        if not live:
            raise TagError("no live tag yet: run `lakeprep build` first")
        tag = live[-1]
    report = write_report(spark, cfg, tag=tag, latest=args.tag is None, against=args.against)
    from lakeprep.report import report_dir

    out = files.join(report_dir(cfg, tag.run_id), "report.html")
    print(f"report for tag {tag.name}: {out} ({sum(report['tables']['rows'].values())} rows in {len(report['tables']['rows'])} tables)")
    return 0


_COMMANDS = {
    "build": _cmd_build,
    "status": _cmd_status,
    "history": _cmd_history,
    "tag": _cmd_tag,
    "checkout": _cmd_checkout,
    "diff": _cmd_diff,
    "rebuild": _cmd_rebuild,
    "vacuum": _cmd_vacuum,
    "forget": _cmd_forget,
    "report": _cmd_report,
}

def exit_with(code: int) -> NoReturn:
    """End a ``lakeprep`` or ``build_corpus.py`` process with ``code``, skipping the interpreter's last garbage
    collection: with GX, streaming and torch loaded it walks every object of their module graphs, 1.5-2.5 s
    of a small build's wall time. Exit handlers and finalizers still run; only cyclic garbage is left to the
    operating system, as at any process exit. For a program's entry point only, never for an in-process
    call of :func:`main` (frozen objects are never collected)."""
    gc.freeze()
    sys.exit(code)


def run() -> NoReturn:
    """The ``lakeprep`` console script."""
    exit_with(main())


if __name__ == "__main__":
    run()
