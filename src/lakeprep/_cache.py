"""lakeprep's folder of machine-local caches. Standard library only: ``make`` dumps the class-data archive
(:mod:`lakeprep.class_data`) while the rest of the stack is still being installed, with pyspark alone in the venv."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(name: str) -> Path:
    """``name`` in lakeprep's folder of machine-local caches (``$LAKEPREP_CACHE``, default ``~/.cache/lakeprep``)."""
    return Path(os.environ.get("LAKEPREP_CACHE", Path.home() / ".cache" / "lakeprep")) / name
