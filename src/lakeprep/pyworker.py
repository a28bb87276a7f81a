"""The Python worker daemon of a local session (``spark.python.daemon.module``): pyspark's own daemon, importing
pyspark from its installed, byte-compiled copy.

Spark starts Python workers with ``PYTHONPATH`` beginning with ``$SPARK_HOME/python/lib/pyspark.zip`` (and py4j's
zip). A zip holds no compiled modules and Python cannot write any into it, so every worker process compiles
``pyspark.worker`` and the modules it imports from source: ~0.35 s of CPU per worker, and pyspark's daemon forks
a new one for each Python task slot of every session (measured: ``import pyspark.worker`` and the pandas
serializers 0.65-0.71 s from the zip, 0.30-0.35 s from site-packages with the ``.pyc`` files ``make`` writes).
Where the zip and the installed pyspark are the same version (pip's pyspark: the zip ships inside it), the zips
are moved to the end of ``sys.path`` before anything imports pyspark; the forked workers inherit that. Where they
differ (a ``SPARK_HOME`` of another build), nothing changes. Then pyspark's daemon runs as it would unchanged.

Only lakeprep's local sessions use it (:func:`lakeprep.session.get_spark`): there the driver's interpreter,
with lakeprep installed, is the workers' interpreter.
"""

from __future__ import annotations

import os
import sys
import zipfile

__all__ = ["prefer_installed_pyspark"]


def _zip_text(archive: str, member: str) -> str | None:
    try:
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member).decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def _file_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def prefer_installed_pyspark(path: list[str]) -> list[str]:
    """``path`` (a ``sys.path``) with pyspark's and py4j's zips moved to its end, when the first installed pyspark
    after them is the zip's own version; otherwise ``path`` unchanged."""
    zips = [p for p in path if os.path.basename(p) == "pyspark.zip" or (os.path.basename(p).startswith("py4j-") and p.endswith(".zip"))]
    pyspark_zip = next((p for p in zips if os.path.basename(p) == "pyspark.zip"), None)
    if pyspark_zip is None:
        return path
    rest = [p for p in path if p not in zips]
    installed = next((p for p in rest if p and os.path.isfile(os.path.join(p, "pyspark", "version.py"))), None)
    if installed is None or not os.path.isfile(os.path.join(installed, "py4j", "__init__.py")):
        return path
    zipped = _zip_text(pyspark_zip, "pyspark/version.py")
    if zipped is None or zipped != _file_text(os.path.join(installed, "pyspark", "version.py")):
        return path
    return [*rest, *zips]


def _main() -> None:
    sys.path[:] = prefer_installed_pyspark(sys.path)
    from pyspark.daemon import manager  # reads the worker module from sys.argv[1], as under ``-m pyspark.daemon``

    manager()


if __name__ == "__main__":
    _main()
