"""Running lakeprep's own commands (spark-submit, the CLI, a Python snippet) as a user would, in a new process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def run_tool(args: Sequence[str], cwd: Path, *, env: Mapping[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with this venv's Python for Spark's workers, outside any Spark gateway of the caller."""
    full = {**os.environ, **(env or {}), "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    full.pop("PYSPARK_GATEWAY_PORT", None)
    return subprocess.run(list(args), cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)
