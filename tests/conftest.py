"""Shared fixtures: one local[2] Spark session with Delta for the whole run, and landing-dir helpers.

Tests under tests/spark are marked ``spark`` and tests under tests/e2e ``e2e`` automatically, so the
inner loop is ``pytest -m "not spark and not e2e"`` (seconds) and CI runs everything.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_LANDING = REPO / "data" / "sample" / "landing"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "spark" in parts:
            item.add_marker(pytest.mark.spark)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator["SparkSession"]:  # noqa: F821
    from lakeprep.config import SparkConfig
    from lakeprep.session import get_spark, local_test_conf

    warehouse = tmp_path_factory.mktemp("warehouse")
    session = get_spark(SparkConfig(master="local[2]", app_name="lakeprep-tests"), extra_conf=local_test_conf(str(warehouse), small_data=True))
    yield session
    session.stop()


@pytest.fixture()
def sample_landing(tmp_path: Path) -> Path:
    """A private copy of the bundled sample landing directory."""
    dest = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, dest)
    return dest


def write_file(path: Path, content: str | bytes, *, mtime: float | None = None) -> Path:
    """Write a landing file (creating folders); optionally set its modification time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path
