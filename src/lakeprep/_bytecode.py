"""Write the ``.pyc`` files of what a build imports, once, at set-up (``python -m lakeprep._bytecode``; ``make``).

Where ``PYTHONDONTWRITEBYTECODE`` is set (as on CI machines) and nothing was compiled, every process compiles
pandas, pyspark, Great Expectations, torch... from source at each import: Great Expectations 6.2 s instead of
3.9 s, ``streaming`` 8.9 s instead of 4.5 s. ``make`` used to compile the whole venv (``compileall``: ~390 MB of
source, ~41 CPU-seconds), while a build and the whole test suite import about a third of it. So ``make`` now
lets the processes it starts write the ``.pyc`` of each module they import (``unexport
PYTHONDONTWRITEBYTECODE``), and this step imports what every build imports -- each lakeprep module, and the
modules a build imports in the background (Great Expectations, ``streaming``) -- beside the class-data dump,
so that the first build or test does not pay for it.

Only the standard library is imported at the top: the modules are imported one by one, and one that cannot be
imported (an optional extra that is not installed) is reported and skipped; it is not an error here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Iterable

__all__ = ["build_modules", "third_party", "warm"]


def third_party() -> tuple[str, ...]:
    """What a build imports in the background (:func:`lakeprep.pipeline.batch._import_in_background`), not at a
    module's top: the gates' library and the MDS writer's."""
    from lakeprep.pipeline.batch import _EXPORT_IMPORTS, _GATE_IMPORTS

    return (*_GATE_IMPORTS, *_EXPORT_IMPORTS)


def build_modules() -> list[str]:
    """Every lakeprep module (but this one), then :func:`third_party`: what a build imports."""
    import lakeprep

    names = [m.name for m in pkgutil.walk_packages(lakeprep.__path__, "lakeprep.") if m.name != __name__]
    return [*names, *third_party()]


def warm(modules: Iterable[str] | None = None) -> tuple[int, list[str]]:
    """Import ``modules`` (default :func:`build_modules`), writing their ``.pyc`` files whatever
    ``PYTHONDONTWRITEBYTECODE`` says; (modules now loaded in this process, the ones that failed and why)."""
    sys.dont_write_bytecode = False
    failed = []
    for name in build_modules() if modules is None else modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - e.g. an optional extra that is not installed
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    return len(sys.modules), failed


def main() -> int:
    started = time.monotonic()
    loaded, failed = warm()
    for line in failed:
        print(f"not imported (skipped): {line}", file=sys.stderr)
    print(f"bytecode: {loaded} modules loaded (their .pyc files written where missing) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
