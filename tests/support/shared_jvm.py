"""One driver JVM for all pytest-xdist workers of a run (``make test``: two workers on two cores).

Every worker used to start its own local Spark JVM. The suite is CPU-bound, and each of those JVMs paid the same
start, class loading, Delta warm-up and JIT compilation of the same code: two workers each building the 5-file
crash corpus four times took 124.0 s and 233.8 CPU-seconds of the machine with a JVM each, 106.5 s and 188.7
CPU-seconds sharing one (README, "One driver JVM for both test workers"). So the first worker that asks for ``spark`` starts the session as
before (:func:`lakeprep.session.get_spark`) and publishes its Py4J gateway; the others attach to that JVM, wrap
its ``SparkContext`` and work in a ``newSession()`` of their own: their own SQL conf (the commit metadata lakeprep
sets there stays theirs), temporary views and functions, the same conf the first one started with. What they
share is the JVM's caches (Delta's log cache, cached tables), as sessions of one cluster do.

The owner keeps the JVM until every other worker has released it (or finished without asking for it, or died).
Not used outside xdist, or with ``LAKEPREP_TEST_OWN_JVM=1`` (a JVM per worker, as before).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pyspark.sql import SparkSession

from tests.support.processes import proc_stat

__all__ = ["shared_session", "sharing", "worker_finished"]

_WAIT_SECONDS = 3600
_USED: list[bool] = []  # this worker started or attached to the shared JVM


def _run_dir() -> Path | None:
    """The folder the workers of this run coordinate in, or None when the JVM is not shared."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not run or not os.environ.get("PYTEST_XDIST_WORKER") or count < 2 or os.environ.get("LAKEPREP_TEST_OWN_JVM") == "1":
        return None
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"lakeprep-shared-jvm-{run}"


def sharing() -> bool:
    """Whether this process's ``spark`` fixture shares a JVM with other workers."""
    return _run_dir() is not None


def _attach(info: dict[str, object]) -> SparkSession:
    """A new session on the JVM whose gateway ``info`` names."""
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway

    os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"] = str(info["port"]), str(info["secret"])
    try:
        gateway = launch_gateway()  # connects to the running gateway named by the two variables
    finally:  # subprocesses the tests start must launch JVMs of their own
        del os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"]
    jvm = gateway.jvm
    context = SparkContext(gateway=gateway, jsc=jvm.org.apache.spark.api.java.JavaSparkContext(jvm.org.apache.spark.SparkContext.getOrCreate()))
    # newSession(): its SQL conf starts from the context's conf (what the owner's session was created with)
    return SparkSession(context, jsparkSession=jvm.org.apache.spark.sql.SparkSession.getDefaultSession().get().newSession())


@contextlib.contextmanager
def shared_session(create: Callable[[], SparkSession]) -> Iterator[SparkSession]:
    """``create()`` the session (the first worker to ask, or outside xdist), or attach to the one a worker created."""
    run = _run_dir()
    if run is None:
        session = create()
        yield session
        session.stop()
        return
    worker = os.environ["PYTEST_XDIST_WORKER"]
    _USED.append(True)
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker starts the JVM; the others wait for its gateway
        gateway = run / "gateway.json"
        owner = not gateway.exists()
        if owner:
            session = create()
            params = session.sparkContext._gateway.gateway_parameters  # type: ignore[union-attr]
            (run / "gateway.tmp").write_text(json.dumps({"port": params.port, "secret": params.auth_token}))
            (run / "gateway.tmp").rename(gateway)
        else:
            (run / f"attached-{worker}").write_text(str(os.getpid()))
            session = _attach(json.loads(gateway.read_text()))
    if not owner:
        yield session
        (run / f"released-{worker}").write_text(str(os.getpid()))
        return
    yield session
    _wait_for_the_others(run, worker)
    session.stop()
    shutil.rmtree(run, ignore_errors=True)


def _workers() -> list[str]:
    """The names of this xdist run's workers (``gw0``, ``gw1``, ...)."""
    return [f"gw{i}" for i in range(int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))]


def _wait_for_the_others(run: Path, me: str) -> None:
    """Until every other worker has released the JVM, or finished without attaching, or is gone."""
    others = [w for w in _workers() if w != me]
    deadline = time.monotonic() + _WAIT_SECONDS

    def settled(w: str) -> bool:
        attached = run / f"attached-{w}"
        if (run / f"released-{w}").exists():
            return True
        if attached.exists():  # settled once it is gone or a zombie (it will release nothing); "" while being written
            pid = attached.read_text()
            return bool(pid) and ((st := proc_stat(int(pid))) is None or st[0] == "Z")
        return (run / f"finished-{w}").exists()

    while not all(settled(w) for w in others) and time.monotonic() < deadline:
        time.sleep(0.5)


def worker_finished() -> None:
    """Say that this worker runs no more tests (``pytest_sessionfinish``): an owner need not wait for it."""
    run = _run_dir()
    if run is not None and not _USED:  # a worker that used the JVM said so when it released it
        run.mkdir(parents=True, exist_ok=True)
        (run / f"finished-{os.environ['PYTEST_XDIST_WORKER']}").write_text(str(os.getpid()))
        if all((run / f"finished-{w}").exists() for w in _workers()):  # no worker started a JVM: nobody else cleans up
            shutil.rmtree(run, ignore_errors=True)
