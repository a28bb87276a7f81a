"""A class-data archive (Java AppCDS) for the driver JVMs lakeprep starts on this machine.

A new driver JVM spends seconds loading and verifying the same ~18,000 classes of the JDK, Spark, Hadoop,
Parquet and Netty before the first Delta operation. An archive of them lets every later JVM with the same
JDK and class path map them instead (``-XX:SharedArchiveFile``): a no-op rebuild of 6,000 files as a new
process took 15.2 / 16.9 s with it and 19.7 / 18.4 s without (README "Speed"). Delta's own classes come from
``spark.jars`` (Spark's class loader) and are not archived.

The archive is a static one, dumped (``-Xshare:dump``, ~30 s) from the list of classes a build loads,
:data:`CLASS_LIST`, which ships with lakeprep (``python -m lakeprep.class_data --write-list`` writes it again
from a build of the sample, after a Spark upgrade); a class the list names that the class path lacks is
skipped. ``python -m lakeprep.class_data`` writes it once (``make run`` and ``make test`` do, before their
first JVM). :func:`archive_path` names it by the JDK binary and the pyspark installation, so a new JDK or
pyspark gets a new archive instead of a mismatched one. :func:`lakeprep.session.with_driver_java_options`
passes it as ``spark.driver.defaultJavaOptions`` when it exists; the JVM validates it (JDK build, class
path) and ignores it, with a warning, if anything differs. It is left out where a Java agent or Flight Recorder
is on the driver: OpenJDK 17.0.15 crashed loading Delta's classes with one of them beside this archive.
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
    from lakeprep._cache import cache_dir

    return cache_dir("jvm") / f"spark-driver-{hashlib.sha1(key.encode()).hexdigest()[:12]}.jsa"


def existing_archive() -> Path | None:
    """The archive when it has been written (and its path has no whitespace, so it is one JVM option)."""
    path = archive_path()
    return path if path is not None and path.is_file() and not any(c.isspace() for c in str(path)) else None


CLASS_LIST = Path(__file__).with_name("jvm_classes.txt")


def _launch_command(home: str) -> tuple[str, str]:
    """The ``java`` and ``-cp`` that Spark's launcher under ``home`` (pyspark's ``SPARK_HOME``) gives a driver JVM
    on this machine (``spark-class`` with ``SPARK_PRINT_LAUNCH_COMMAND``: the archive must be dumped with exactly
    that class path)."""
    done = subprocess.run([str(Path(home) / "bin" / "spark-class"), "org.apache.spark.deploy.SparkSubmit", "--version"],
                          env={**os.environ, "SPARK_HOME": home, "SPARK_PRINT_LAUNCH_COMMAND": "1"},
                          capture_output=True, text=True, timeout=120)
    line = next((l for l in (done.stdout + done.stderr).splitlines() if l.startswith("Spark Command: ")), None)
    args = line.removeprefix("Spark Command: ").split(" ") if line else []
    if "-cp" not in args or args.index("-cp") + 1 >= len(args):
        raise RuntimeError(f"Spark's launcher printed no java command line: {(done.stdout + done.stderr)[-1500:]}")
    return args[0], args[args.index("-cp") + 1]


def build_archive(*, timeout: float = 600) -> Path | None:
    """Dump the archive from :data:`CLASS_LIST` with the launcher's class path (once); return its path (None when
    this machine has no java). The archive is checked by a JVM that must map it; a failed dump leaves none."""
    target = archive_path()
    if target is None:
        return None
    if target.is_file():
        return target
    from pyspark.find_spark_home import _find_spark_home

    home = _find_spark_home()
    if any(c.isspace() for c in home):  # the launcher prints its command line joined by spaces
        print(f"no class-data archive: pyspark's folder has a space in its path ({home})", flush=True)
        return None
    java, classpath = _launch_command(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    # the options a driver JVM starts with that the archive must agree with (Spark adds the incubator module)
    options = ["-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector", "-cp", classpath]
    t0 = time.monotonic()
    print(f"writing the driver JVM's class-data archive (once per JDK and pyspark): {target}", flush=True)
    try:
        dump = subprocess.run([java, "-Xshare:dump", f"-XX:SharedClassListFile={CLASS_LIST}", f"-XX:SharedArchiveFile={partial}",
                               "-Xlog:cds=off", "-Xlog:cds+heap=off", *options], capture_output=True, text=True, timeout=timeout)
        check = subprocess.run([java, "-Xshare:on", f"-XX:SharedArchiveFile={partial}", *options, "-version"],
                               capture_output=True, text=True, timeout=120) if dump.returncode == 0 else dump
        if check.returncode != 0 or not partial.is_file():
            raise RuntimeError(f"the class-data dump failed (exit {check.returncode}): {(check.stdout + check.stderr)[-2000:]}")
        partial.replace(target)  # only a complete archive that a JVM maps is ever used
    finally:
        partial.unlink(missing_ok=True)
    print(f"  done in {time.monotonic() - t0:.0f}s ({target.stat().st_size / 1e6:.0f} MB)", flush=True)
    return target


def write_class_list(config: str, *, timeout: float = 900) -> Path:
    """Write :data:`CLASS_LIST` again from one build of ``config`` (into a temporary folder) under spark-submit."""
    from lakeprep.session import DELTA_SESSION_CONF, cached_delta_jars, with_driver_java_options

    with tempfile.TemporaryDirectory(prefix="lakeprep-class-list-") as tmp:
        script, listed = Path(tmp) / "build.py", Path(tmp) / "classes.lst"
        script.write_text("import sys\nfrom lakeprep.cli import main\nsys.exit(main(sys.argv[1:]))\n", encoding="utf-8")
        conf = with_driver_java_options(dict(DELTA_SESSION_CONF), class_data=False)
        conf["spark.driver.defaultJavaOptions"] = f"-XX:DumpLoadedClassList={listed}"
        jars = cached_delta_jars()
        args = [str(Path(sys.executable).parent / "spark-submit"), *(["--jars", ",".join(jars)] if jars else []),
                *[a for k, v in conf.items() for a in ("--conf", f"{k}={v}")], "--conf", "spark.ui.enabled=false",
                str(script), "build", "--config", config, "-q",
                "--set", f"storage.root={tmp}/lake", "--set", f"gold.mds.output={tmp}/mds"]
        done = subprocess.run(args, env={**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not listed.is_file():
            raise RuntimeError(f"the class-list build failed (exit {done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        names = [l for l in listed.read_text(encoding="utf-8").splitlines() if l and not l.startswith("#")]
    header = CLASS_LIST.read_text(encoding="utf-8").splitlines()[:2] if CLASS_LIST.is_file() else []
    CLASS_LIST.write_text("\n".join([*(h for h in header if h.startswith("#")), *names]) + "\n", encoding="utf-8")
    return CLASS_LIST


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the class-data archive of lakeprep's driver JVMs (once)")
    parser.add_argument("--write-list", action="store_true", help="first write the class list again from a build of --config")
    parser.add_argument("--config", default="conf/default.yaml", help="the build the class list is taken from (with --write-list)")
    args = parser.parse_args(argv)
    if args.write_list:
        print(write_class_list(args.config))
    path = build_archive()
    print(path if path is not None else "no java on this machine: no archive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
