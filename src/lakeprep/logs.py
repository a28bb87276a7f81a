"""Logging with the run id on every line (``logging``, no globals beyond a context variable)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator

__all__ = ["configure_logging", "run_context"]

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
