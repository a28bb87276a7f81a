"""The set-up's bytecode step (``python -m lakeprep._bytecode``, run by ``make``): what it imports, and that it writes
``.pyc`` files where ``PYTHONDONTWRITEBYTECODE`` is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakeprep._bytecode import build_modules, third_party

SRC = Path(__file__).resolve().parents[2] / "src"


def test_every_lakeprep_module_and_the_background_imports_are_warmed() -> None:
    on_disk = {
        ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for p in (SRC / "lakeprep").rglob("*.py")
    }
    listed, background = build_modules(), third_party()
    assert set(listed[: -len(background)]) == on_disk - {"lakeprep", "lakeprep._bytecode"}
    assert tuple(listed[-len(background):]) == background
    # what a build of the default config imports in the background (the gates' library, the MDS writer's)
    from lakeprep.config import load_config
    from lakeprep.pipeline.batch import _export_modules, _gate_modules

    cfg = load_config(SRC.parent / "conf" / "default.yaml")
    assert set(_gate_modules(cfg) + _export_modules(cfg)) == set(background) == {"great_expectations", "streaming"}


def test_pyc_files_are_written_despite_pythondontwritebytecode_and_a_missing_module_is_skipped(tmp_path: Path) -> None:
    prefix = tmp_path / "pycache"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(prefix)}
    code = (
        "import json, sys; from lakeprep._bytecode import warm; "
        "print(json.dumps([sys.dont_write_bytecode, warm(['email.mime.text', 'no_such_module_for_lakeprep'])[1]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    flag_before, failed = json.loads(out.stdout)
    assert flag_before is True  # the environment asked for no .pyc files; warm() writes them anyway
    assert len(failed) == 1 and failed[0].startswith("no_such_module_for_lakeprep: ModuleNotFoundError"), failed
    written = [p.name for p in prefix.rglob("*.pyc")]
    assert any(name.startswith("text.cpython-") for name in written), written
