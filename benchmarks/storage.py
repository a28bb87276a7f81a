"""The sample build on a local disk and on object storage (s3proxy, a real S3 API server on loopback), side by side.

Each build is ``lakeprep build`` in a new process (JVM start, Ivy, session, every layer, gates, tag,
report, MDS export), as a user runs it: a first build, then a no-op rebuild with nothing new. Prints
seconds and the s3a/local ratio. s3proxy answers from a local folder, so the ratio measures what the S3
protocol and the connector add (no network latency, no throttling): a lower bound for real object storage.

    python benchmarks/storage.py [--landing data/sample/landing]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lakeprep.session import SMALL_DATA_CONF  # noqa: E402
from tests.support.processes import BIN, run_tool  # noqa: E402
from tests.support.s3proxy import S3Proxy  # noqa: E402

SMALL = {"spark.sql.shuffle.partitions": "2", **SMALL_DATA_CONF}  # the sample's small-data settings, as in the tests


def _build(conf: Path, work: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds of the command, the build's own seconds (from its summary), and its stdout."""
    t0 = time.monotonic()
    done = run_tool([str(BIN / "lakeprep"), "build", "--config", str(conf), "-q"], work, env=env, timeout=1800)
    wall = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    inner = re.search(r"finished in ([\d.]+)s", done.stdout)
    return wall, float(inner.group(1)) if inner else float("nan"), done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", default=str(REPO / "data" / "sample" / "landing"))
    args = parser.parse_args()
    landing = Path(args.landing).resolve()
    with tempfile.TemporaryDirectory(prefix="lakeprep-bench-storage-") as tmp:
        work = Path(tmp)
        server = S3Proxy(work / "s3").start()
        try:
            client = server.client()
            client.create_bucket(Bucket="bench")
            files = [p for p in sorted(landing.rglob("*")) if p.is_file()]
            for p in files:
                client.upload_file(str(p), "bench", f"landing/{p.relative_to(landing).as_posix()}")
            base = {"spark": {"master": "local[2]", "conf": SMALL}, "gates": {"suites": str(REPO / "expectations")}}
            confs = {
                "local": {**base, "storage": {"root": str(work / "lake")}, "bronze": {"landing": str(landing)}},
                "s3a": {**base, "storage": {"root": "s3a://bench/lake"}, "bronze": {"landing": "s3a://bench/landing"}},
            }
            rows = {}
            for name, conf in confs.items():
                path = work / f"{name}.yaml"
                path.write_text(yaml.safe_dump(conf))
                first = _build(path, work, server.env)
                again = _build(path, work, server.env)
                rows[name] = (first, again)
                print(f"{name:<6} first build {first[0]:6.1f} s wall ({first[1]:6.1f} s build)   "
                      f"no-op rebuild {again[0]:6.1f} s wall ({again[1]:6.1f} s build)", flush=True)
        finally:
            server.stop()
    (lf, la), (sf, sa) = rows["local"], rows["s3a"]
    print(f"\n{len(files)} landing files; s3a / local: first build {sf[0] / lf[0]:.2f}x wall ({sf[1] / lf[1]:.2f}x build), "
          f"no-op {sa[0] / la[0]:.2f}x wall ({sa[1] / la[1]:.2f}x build)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
