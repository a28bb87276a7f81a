"""One writer per lake: runs claim the lake in the Delta table ``_lakeprep.runs``.

A run (build, rebuild, forget, vacuum, tag) inserts its row with a conditional MERGE that matches any
*live* claim (state ``running`` with a fresh heartbeat): when one exists nothing is inserted and the run
stops with :class:`LakeBusyError` naming the holder (``--wait`` polls instead). Two claims made at the same
moment cannot both commit: each MERGE reads the whole table, so Delta's optimistic concurrency fails the
second with a conflict, and the loser reads the winner's row. Nothing here uses file locks or driver-local
state, so it works the same on local files, a cluster, object storage with Delta's commit protocol, and
Spark Connect.

While it runs, a daemon thread refreshes the heartbeat (``run.heartbeat_seconds``). On exit, normal or by
an exception (including SIGTERM, turned into ``SystemExit`` by :func:`exit_on_sigterm`), the row gets
``succeeded`` or ``failed`` and an end time. A claim whose heartbeat is older than
``run.stale_after_seconds``, or whose process is gone on this same host, is stale: the next run takes over
(logged) and marks it ``interrupted``. Claims nest: a claimed run calling another claiming function (a
build creating its tag) does not claim again.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import SparkSession

from lakeprep.config import Config
from lakeprep.errors import LakeprepError
from lakeprep.io.delta import commit_metadata, create_table_if_missing, quote_path, read_table, table_exists
from lakeprep.schemas import RUNS

__all__ = ["RUNS_TABLE", "LakeBusyError", "RunRow", "claim_lake", "exit_on_sigterm", "recent_runs", "stale_claim"]

log = logging.getLogger(__name__)

RUNS_TABLE = "_lakeprep.runs"
_HELD: contextvars.ContextVar[str | None] = contextvars.ContextVar("lakeprep_claimed_lake", default=None)


class LakeBusyError(LakeprepError):
    """Another run holds the lake."""


@dataclass(frozen=True)
class RunRow:
    """One row of ``_lakeprep.runs``."""

    run_id: str
    command: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    ended: datetime | None
    state: str  # running | succeeded | failed | interrupted
    message: str | None

    def describe(self) -> str:
        return f"run {self.run_id} ({self.command}, host {self.host}, pid {self.pid}, started {self.started:%Y-%m-%d %H:%M:%S} UTC)"


def _path(cfg: Config) -> str:
    return cfg.storage.table_path(RUNS_TABLE)


def _sql_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_conflict(exc: Exception) -> bool:
    """A Delta optimistic-concurrency conflict (another commit won the race)."""
    text = f"{type(exc).__name__} {exc}"
    return "Concurrent" in text or "DELTA_CONCURRENT" in text or "ProtocolChanged" in text or "MetadataChanged" in text


def recent_runs(spark: SparkSession, cfg: Config, *, limit: int = 20) -> list[RunRow]:
    """The newest runs first (empty when no run has claimed the lake yet)."""
    if not table_exists(spark, _path(cfg)):
        return []
    rows = read_table(spark, _path(cfg), name=RUNS_TABLE).orderBy("started_ts", ascending=False).limit(limit).collect()
    return [
        RunRow(r["run_id"], r["command"], r["host"], r["pid"], r["started_ts"], r["heartbeat_ts"], r["ended_ts"], r["state"], r["message"])
        for r in rows
    ]


def _stale(row: RunRow, stale_after: float, now: datetime) -> bool:
    if row.host == socket.gethostname() and not _pid_alive(row.pid):
        return True  # the process that holds it is gone: no need to wait for the timeout
    return (now - row.heartbeat.replace(tzinfo=timezone.utc)).total_seconds() > stale_after


def stale_claim(row: RunRow, cfg: Config, now: datetime) -> bool:
    """Whether a ``running`` row is a claim the next run may take over."""
    return _stale(row, cfg.run.stale_after_seconds, now)


def _live_holder(spark: SparkSession, cfg: Config, now: datetime) -> RunRow | None:
    for row in recent_runs(spark, cfg, limit=50):
        if row.state == "running" and not _stale(row, cfg.run.stale_after_seconds, now):
            return row
    return None


def _try_claim(spark: SparkSession, cfg: Config, run_id: str, command: str) -> bool:
    """One conditional insert; True if this run now holds the lake."""
    path = _path(cfg)
    meta = {"run_id": run_id, "table": RUNS_TABLE, "operation": "claim"}
    now = datetime.now(timezone.utc)
    # rows of stale claims (timed out, or a dead process on this host) do not block
    stale = [r.run_id for r in recent_runs(spark, cfg, limit=50) if r.state == "running" and _stale(r, cfg.run.stale_after_seconds, now)]
    ignore = f" AND t.run_id NOT IN ({', '.join(_sql_str(r) for r in stale)})" if stale else ""
    try:
        with commit_metadata(spark, meta):
            merged = spark.sql(
                f"MERGE INTO {quote_path(path)} t USING (SELECT {_sql_str(run_id)} AS run_id, {_sql_str(command)} AS command, "
                f"{_sql_str(socket.gethostname())} AS host, {os.getpid()} AS pid, current_timestamp() AS started_ts, "
                "current_timestamp() AS heartbeat_ts, CAST(NULL AS TIMESTAMP) AS ended_ts, 'running' AS state, "
                "CAST(NULL AS STRING) AS message) s "
                f"ON t.state = 'running' AND t.heartbeat_ts > s.heartbeat_ts - INTERVAL {int(cfg.run.stale_after_seconds)} SECONDS{ignore} "
                "WHEN NOT MATCHED THEN INSERT *"
            )
    except Exception as exc:  # noqa: BLE001 - only Delta conflicts are expected here
        if _is_conflict(exc):
            log.info("claim %s lost a race for the lake (%s)", run_id, type(exc).__name__)
            return False
        raise
    # Delta's MERGE answers with its row counts (a local result, no Spark job): one row inserted is this claim
    mine = int(merged.first()["num_inserted_rows"]) == 1
    if mine and stale:
        for r in stale:
            log.warning("run %s took over the lake from run %s, whose claim was stale (marked interrupted)", run_id, r)
        _update(spark, cfg, run_id, f"run_id IN ({', '.join(_sql_str(r) for r in stale)}) AND state = 'running'",
                "state = 'interrupted', message = " + _sql_str(f"taken over by {run_id}"))
    return mine


def _update(
    spark: SparkSession, cfg: Config, run_id: str, where: str, sets: str, *, attempts: int = 5, operation: str = "claim_update"
) -> None:
    """An UPDATE of ``_lakeprep.runs``, retried on commit conflicts (other runs' claims race with it)."""
    for attempt in range(attempts):
        try:
            with commit_metadata(spark, {"run_id": run_id, "table": RUNS_TABLE, "operation": operation}):
                spark.sql(f"UPDATE {quote_path(_path(cfg))} SET {sets} WHERE {where}")
            return
        except Exception as exc:  # noqa: BLE001
            if not _is_conflict(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


class _Heartbeat(threading.Thread):
    """Refreshes the claim. Commit metadata is a session setting, so the beats run in a session of their own
    (classic Spark: ``newSession()``, same context, separate SQL conf); where there is none (Spark Connect)
    they commit without touching the setting, so they never relabel the build's own commits."""

    def __init__(self, spark: SparkSession, cfg: Config, run_id: str) -> None:
        super().__init__(name=f"lakeprep-heartbeat-{run_id}", daemon=True)
        try:
            self.spark, self.own_session = spark.newSession(), True
        except Exception:  # noqa: BLE001 - Spark Connect has no newSession
            self.spark, self.own_session = spark, False
        self.cfg, self.run_id = cfg, run_id
        self.stopped = threading.Event()

    def beat(self) -> None:
        sets, where = "heartbeat_ts = current_timestamp()", f"run_id = {_sql_str(self.run_id)}"
        if self.own_session:
            _update(self.spark, self.cfg, self.run_id, where, sets, operation="heartbeat")
        else:
            self.spark.sql(f"UPDATE {quote_path(_path(self.cfg))} SET {sets} WHERE {where}")

    def run(self) -> None:
        while not self.stopped.wait(self.cfg.run.heartbeat_seconds):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat is logged; the claim goes stale only after many
                log.warning("heartbeat of run %s failed: %s", self.run_id, str(exc).splitlines()[0][:200])


@contextlib.contextmanager
def claim_lake(spark: SparkSession, cfg: Config, *, run_id: str, command: str, wait: bool = False) -> Iterator[None]:
    """Hold the lake for the body (see the module docstring). Raises :class:`LakeBusyError` when another run
    holds it, unless ``wait``: then polls every ``run.wait_poll_seconds`` until it is free."""
    lake = cfg.storage.table_path(RUNS_TABLE)
    if _HELD.get() == lake:  # nested: the outer run holds it
        yield
        return
    create_table_if_missing(spark, lake, RUNS, metadata={"run_id": run_id, "table": RUNS_TABLE})
    announced = False
    while not _try_claim(spark, cfg, run_id, command):
        holder = _live_holder(spark, cfg, datetime.now(timezone.utc))
        if holder is None:
            continue  # lost a race to a claim that has ended since, or to a heartbeat: try again
        if not wait:
            raise LakeBusyError(
                f"the lake at {cfg.storage.root} is being written by {holder.describe()}; "
                "wait for it to finish, or pass --wait to start when it does"
            )
        if not announced:
            log.info("waiting for %s to release the lake", holder.describe())
            announced = True
        time.sleep(cfg.run.wait_poll_seconds)
    token = _HELD.set(lake)
    beat = _Heartbeat(spark, cfg, run_id)
    beat.start()
    state, message = "failed", None
    try:
        yield
        state = "succeeded"
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        raise
    finally:
        beat.stopped.set()
        beat.join(timeout=60)
        _HELD.reset(token)
        msg = _sql_str(message) if message else "NULL"
        _update(spark, cfg, run_id, f"run_id = {_sql_str(run_id)}", f"state = '{state}', ended_ts = current_timestamp(), message = {msg}")


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` in the main thread, so claims are released and logs flushed."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
