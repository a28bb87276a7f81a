"""Several lakeprep commands in one new process (one JVM), as a user's shell would run them one after another.

A test that runs a sequence of commands on one lake (build, build again, status, forget, rebuild, vacuum)
pays a cold JVM, Ivy and the Delta warm-up for each when every command is its own process: half a minute
to a minute apiece on two cores. :class:`CliSession` starts one Python process, outside the test's own
Spark session, and runs each command there through the same entry points the console scripts call
(``lakeprep.cli.main``, ``pipelines/build_corpus.py``'s ``main``), each with its own argument parsing,
config loading, logging set-up and exit code, its stdout and stderr captured separately. What differs from
separate processes is only that the Spark session (created by the first command from its config, exactly
as ``lakeprep`` creates it) is reused by the next ones, as in a notebook or a job that calls the CLI twice.

Protocol: one JSON request per line on the child's stdin (``["lakeprep", *args]`` or ``["build_corpus",
*args]``); the answer is one line on its stdout, prefixed with :data:`_MARK` (anything the JVM prints
there is skipped). The child's own stderr (the JVM's log) goes to a file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

_MARK = "\x1elakeprep-cli-session "
REPO = Path(__file__).resolve().parents[2]


class CliSession:
    """``with CliSession(cwd, env=...) as cli: cli.run("lakeprep", "build", "--config", c)``."""

    def __init__(self, cwd: Path, *, env: Mapping[str, str] | None = None, timeout: int = 1200) -> None:
        full = {**os.environ, **(env or {}), "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
        for key in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET", "SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED"):
            full.pop(key, None)
        full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full.get("PYTHONPATH")]))
        self.log = Path(cwd) / "cli-session.log"
        self._log = open(self.log, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.timeout = timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cli_session"], cwd=cwd, env=full, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
        )

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one command; its exit code, stdout and stderr, as ``subprocess.run`` would give them."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([tool, *map(str, args)]) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            at = line.find(_MARK)  # the JVM may have left a partial line of its own before it
            if at >= 0:
                answer = json.loads(line[at + len(_MARK):])
                return subprocess.CompletedProcess([tool, *args], answer["rc"], answer["stdout"], answer["stderr"])
        tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"the command session ended during {tool} {' '.join(args)} (rc {self.proc.wait()}):\n{tail}")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> CliSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _command(tool: str) -> object:
    if tool == "lakeprep":
        from lakeprep.cli import main

        return main
    if tool == "build_corpus":
        return runpy.run_path(str(REPO / "pipelines" / "build_corpus.py"), run_name="build_corpus")["main"]
    raise ValueError(f"unknown tool {tool!r}")


def _serve() -> None:
    reply = sys.stdout
    for line in sys.stdin:
        tool, *args = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = _command(tool)(args)  # type: ignore[operator]
            except SystemExit as exc:  # argparse errors, --help
                rc = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - an uncaught error is exit code 1 with its traceback, as in a shell
                import traceback

                traceback.print_exc()
                rc = 1
        reply.write(_MARK + json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
        reply.flush()


if __name__ == "__main__":
    _serve()
