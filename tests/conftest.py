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


# Where each folder's tests go in the run: the longest first, so that with ``pytest -n 2`` (``make test``) the
# two workers finish together instead of one waiting for the crash tests at the end.
_ORDER = ("faults", "e2e", "spark", "unit")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers by folder; an ``xdist_group`` per module, so that under ``--dist loadgroup`` a module's tests (and
    its module-scoped lakes) stay in one worker, unless a test names its own group; the slow folders first."""
    for item in items:
        parts = item.path.parts
        if "spark" in parts:
            item.add_marker(pytest.mark.spark)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("xdist_group") is None:  # the module's file: every kind of item has one
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    rank = {name: i for i, name in enumerate(_ORDER)}
    items.sort(key=lambda item: next((rank[p] for p in item.path.parts if p in rank), len(_ORDER)))


@pytest.fixture(autouse=True)
def _lakeprep_logging_restored() -> Iterator[None]:
    """A test that runs ``lakeprep`` in this process (``lakeprep.cli.main``: ``configure_logging``) replaces the
    ``lakeprep`` logger's handlers and stops its propagation to the root logger, where ``caplog`` listens; put
    them back after every test, so no later test's ``caplog`` is left without lakeprep's records."""
    import logging

    logger = logging.getLogger("lakeprep")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator["SparkSession"]:  # noqa: F821
    """One local[2] session with Delta. Under pytest-xdist every worker works in the same driver JVM, each in a
    session of its own (:mod:`tests.support.shared_jvm`): the first worker to ask starts it."""
    from lakeprep.config import SparkConfig
    from lakeprep.session import get_spark, local_test_conf
    from tests.support.shared_jvm import shared_session, sharing

    warehouse = tmp_path_factory.mktemp("warehouse")
    # a 4g heap for the JVM the workers share (3g when each has its own: local_test_conf's 6g twice beside the JVMs
    # the e2e tests start was too much); the heap size made no difference to a build's time (README, "Driver GC").
    # It keeps make's raised C2 thresholds (TEST_JAVA_OPTIONS) too: with C2's defaults, six builds in one session
    # took 248 / 270 CPU-seconds against 212 / 226 (README, "The test suite's JVMs and workers")
    conf = {**local_test_conf(str(warehouse), small_data=True), "spark.driver.memory": "4g" if sharing() else "3g"}
    with shared_session(lambda: get_spark(SparkConfig(master="local[2]", app_name="lakeprep-tests"), extra_conf=conf)) as session:
        yield session


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker that never asked for ``spark`` tells the worker that started the shared JVM not to wait for it."""
    from tests.support.shared_jvm import worker_finished

    worker_finished()


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
