"""Build the corpus: ``spark-submit pipelines/build_corpus.py --config conf/default.yaml``.

Thin on purpose: parse arguments, get the session (spark-submit's, or a new local one), run the batch
runner, print the summary. Exit code 0 on success, 2 on an error the user can fix (including another run
holding the lake; ``--wait`` waits for it instead).
"""

from __future__ import annotations

import argparse
import logging
import sys

from lakeprep.cli import exit_with
from lakeprep.config import load_config
from lakeprep.errors import LakeprepError
from lakeprep.io.claim import exit_on_sigterm
from lakeprep.logs import configure_logging
from lakeprep.pipeline.batch import run_build
from lakeprep.session import get_spark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="conf/default.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--run-id", default=None, help="use this run id instead of a generated one")
    parser.add_argument("--wait", action="store_true", help="if another run holds the lake, wait for it instead of exiting 2")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO)
    exit_on_sigterm()
    try:
        cfg = load_config(args.config, args.overrides)
        spark = get_spark(cfg.spark, storage=cfg.locations)
        result = run_build(spark, cfg, run_id=args.run_id, wait=args.wait)
    except LakeprepError as exc:
        print(f"build_corpus: error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


if __name__ == "__main__":
    exit_with(main())
