"""``lakeprep`` command line: build, status, history.

Every command takes ``--config`` (default ``conf/default.yaml``) and any number of ``--set key=value``
overrides. Errors a user can fix are printed as one line without a traceback, exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lakeprep.config import Config, load_config
from lakeprep.errors import LakeprepError
from lakeprep.logs import configure_logging

__all__ = ["main", "TABLE_ALIASES"]

TABLE_ALIASES = {
    "bronze": "bronze.documents",
    "quarantine": "quarantine.bronze",
    "silver": "silver.documents",
    "clusters": "silver.dedup_clusters",
    "index": "silver.minhash_index",
    "chunks": "gold.chunks",
    "sequences": "gold.training_sequences",
}


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

    p = argparse.ArgumentParser(prog="lakeprep", description="Raw documents -> Delta medallion -> LLM training data.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("build", parents=[common], help="ingest new landing files and build every layer")
    sub.add_parser("status", parents=[common], help="tables, their latest versions and row counts")
    h = sub.add_parser("history", parents=[common], help="Delta versions of a table with run ids and row counts")
    h.add_argument("table", help=f"table name or alias ({', '.join(f'{k}={v}' for k, v in TABLE_ALIASES.items())})")
    h.add_argument("--limit", type=int, default=20, help="newest N versions (default: %(default)s)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(logging.WARNING if args.quiet else logging.INFO)
    try:
        cfg = load_config(args.config, args.overrides)
        return _COMMANDS[args.command](cfg, args)
    except LakeprepError as exc:
        print(f"lakeprep: error: {exc}", file=sys.stderr)
        return 2


def _cmd_build(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.pipeline.batch import run_build
    from lakeprep.session import get_spark

    spark = get_spark(cfg.spark)
    result = run_build(spark, cfg)
    print(result.summary())
    return 0


def _cmd_status(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.io.delta import history, table_exists
    from lakeprep.schemas import TABLES
    from lakeprep.session import get_spark

    spark = get_spark(cfg.spark)
    print(f"{'table':<22} {'version':>7} {'rows':>10}  last run")
    for name in TABLES:
        path = cfg.storage.table_path(name)
        if not table_exists(spark, path):
            print(f"{name:<22} {'-':>7} {'-':>10}  (not built yet)")
            continue
        last = history(spark, path, name=name)[-1]
        print(f"{name:<22} {last.version:>7} {last.rows if last.rows is not None else '-':>10}  {last.run_id or '-'}")
    return 0


def _cmd_history(cfg: Config, args: argparse.Namespace) -> int:
    from lakeprep.io.delta import history
    from lakeprep.schemas import TABLES
    from lakeprep.session import get_spark

    name = TABLE_ALIASES.get(args.table, args.table)
    if name not in TABLES:
        raise LakeprepError(f"unknown table {args.table!r}; known: {sorted(TABLES)} or aliases {sorted(TABLE_ALIASES)}")
    spark = get_spark(cfg.spark)
    entries = history(spark, cfg.storage.table_path(name), name=name)[-args.limit :]
    print(f"{name}  ({cfg.storage.table_path(name)})")
    print(f"{'version':>7}  {'timestamp (UTC)':<19}  {'operation':<12}  {'run id':<26}  {'rows':>8}  changes")
    for e in entries:
        print(
            f"{e.version:>7}  {e.timestamp:%Y-%m-%d %H:%M:%S}  {e.operation:<12}  {e.run_id or '-':<26}  "
            f"{e.rows if e.rows is not None else '-':>8}  {e.change_summary}"
        )
    return 0


_COMMANDS = {"build": _cmd_build, "status": _cmd_status, "history": _cmd_history}

if __name__ == "__main__":
    raise SystemExit(main())
