"""Logging with the run id on every line (``logging``, no globals beyond a context variable)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
import sys
from collections.abc import Iterator

__all__ = ["Progress", "configure_logging", "run_context"]

_RUN_ID: contextvars.ContextVar[str] = contextvars.ContextVar("lakeprep_run_id", default="-")


class _RunIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = _RUN_ID.get()
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (it may be swapped, e.g. by pytest)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """Log lakeprep's messages to stderr as ``time level [run_id] logger: message``."""
    handler = _StderrHandler()
    handler.addFilter(_RunIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(run_id)s] %(name)s: %(message)s"))
    root = logging.getLogger("lakeprep")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("py4j").setLevel(logging.WARNING)


@contextlib.contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Within the block, log lines carry ``run_id``."""
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


class Progress:
    """Step timings of a long stage, logged as they happen: ``silver <run>: near duplicates: 1,234 docs, 4.2s (294/s)``."""

    def __init__(self, logger: logging.Logger, stage: str) -> None:
        self._log, self._stage = logger, stage
        self._t0 = self._last = time.monotonic()

    def step(self, what: str, rows: int | None = None, unit: str = "rows") -> None:
        now = time.monotonic()
        took, self._last = now - self._last, now
        if rows is None:
            self._log.info("%s: %s, %.1fs", self._stage, what, took)
        else:
            rate = f" ({rows / took:,.0f} {unit}/s)" if took > 0 else ""
            self._log.info("%s: %s: %s %s, %.1fs%s", self._stage, what, f"{rows:,}", unit, took, rate)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._t0
