"""A class-data archive (Java AppCDS) for the driver JVMs lakeprep starts on this machine.

A new driver JVM spends seconds loading and verifying the same ~20,000 classes of Spark, Hadoop, Parquet
and Netty before the first Delta operation. A dynamic archive written at the exit of one build
(``-XX:ArchiveClassesAtExit``) lets every later JVM with the same JDK and class path map them instead
(``-XX:SharedArchiveFile``): ``make run`` took 54.4-60.6 s wall with it and 61.9-67.1 s without (four
interleaved pairs, README "Speed"). Delta's own classes come from ``spark.jars`` (Spark's class loader) and
are not archived.

``python -m lakeprep.class_data --config C`` writes the archive once (a build of C into a temporary folder
under spark-submit; ``make run`` does this before its first build, ~1.5 minutes); :func:`archive_path` names
it by the JDK binary and the pyspark installation, so a new JDK or pyspark gets a new archive instead of a
mismatched one. :func:`lakeprep.session.with_driver_java_options` passes it as
``spark.driver.defaultJavaOptions`` when it exists; the JVM validates it (JDK build, class path) and
ignores it, with a warning, if anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["archive_path", "build_archive", "existing_archive"]

log = logging.getLogger(__name__)


def _java() -> Path | None:
    """The ``java`` that Spark's launcher runs: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return Path(found).resolve() if found and Path(found).is_file() else None


def archive_path() -> Path | None:
    """Where the archive for this JDK and this pyspark lives (it may not exist yet); None without a java."""
    import pyspark

    java = _java()
    if java is None:
        return None
    jars = Path(pyspark.__file__).resolve().parent / "jars"
    key = f"{java}:{java.stat().st_mtime_ns}:{pyspark.__version__}:{jars}:{jars.stat().st_mtime_ns if jars.is_dir() else 0}"
    from lakeprep.session import cache_dir

    return cache_dir("jvm") / f"spark-driver-{hashlib.sha1(key.encode()).hexdigest()[:12]}.jsa"


def existing_archive() -> Path | None:
    """The archive when it has been written (and its path has no whitespace, so it is one JVM option)."""
    path = archive_path()
    return path if path is not None and path.is_file() and not any(c.isspace() for c in str(path)) else None


def build_archive(config: str, *, timeout: float = 900) -> Path | None:
    """Write the archive from one build of ``config`` into a temporary folder; return its path (None when
    this machine has no java). Nothing is written to the config's own lake; a failed run leaves no archive."""
    from lakeprep.session import DELTA_SESSION_CONF, cached_delta_jars, with_driver_java_options

    target = archive_path()
    if target is None:
        return None
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="lakeprep-class-data-") as tmp:
        script = Path(tmp) / "build.py"
        script.write_text("import sys\nfrom lakeprep.cli import main\nsys.exit(main(sys.argv[1:]))\n", encoding="utf-8")
        conf = with_driver_java_options(dict(DELTA_SESSION_CONF), class_data=False)
        conf["spark.driver.defaultJavaOptions"] = f"-XX:ArchiveClassesAtExit={partial}"
        jars = cached_delta_jars()
        args = [str(Path(sys.executable).parent / "spark-submit"), *(["--jars", ",".join(jars)] if jars else []),
                *[a for k, v in conf.items() for a in ("--conf", f"{k}={v}")], "--conf", "spark.ui.enabled=false",
                str(script), "build", "--config", config, "-q",
                "--set", f"storage.root={tmp}/lake", "--set", f"gold.mds.output={tmp}/mds"]
        t0 = time.monotonic()
        print(f"writing the driver JVM's class-data archive (once per JDK and pyspark): {target}", flush=True)
        done = subprocess.run(args, env={**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not partial.is_file():
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"the class-data build failed (exit {done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        partial.replace(target)  # only a complete archive is ever used
        print(f"  done in {time.monotonic() - t0:.0f}s ({target.stat().st_size / 1e6:.0f} MB)", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the class-data archive of lakeprep's driver JVMs (once)")
    parser.add_argument("--config", default="conf/default.yaml", help="the build that the archive is taken from")
    args = parser.parse_args(argv)
    path = build_archive(args.config)
    print(path if path is not None else "no java on this machine: no archive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
