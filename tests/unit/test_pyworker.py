"""lakeprep.pyworker: which pyspark a local session's Python workers import."""

from __future__ import annotations

import zipfile
from pathlib import Path

from lakeprep.pyworker import prefer_installed_pyspark


def _zip(path: Path, version: str) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pyspark/version.py", f"__version__: str = '{version}'\n")
    return str(path)


def _installed(root: Path, version: str, *, py4j: bool = True) -> str:
    (root / "pyspark").mkdir(parents=True)
    (root / "pyspark" / "version.py").write_text(f"__version__: str = '{version}'\n")
    if py4j:
        (root / "py4j").mkdir()
        (root / "py4j" / "__init__.py").write_text("")
    return str(root)


def test_the_zips_go_last_only_where_the_installed_pyspark_is_their_version(tmp_path: Path) -> None:
    zipped = _zip(tmp_path / "pyspark.zip", "4.2.0")
    py4j = str(tmp_path / "py4j-0.10.9.9-src.zip")
    same = _installed(tmp_path / "site", "4.2.0")
    path = ["", zipped, py4j, "/usr/lib/python311.zip", same]
    assert prefer_installed_pyspark(path) == ["", "/usr/lib/python311.zip", same, zipped, py4j]
    # another version installed (a SPARK_HOME of another build): Spark's own path order stays
    other = _installed(tmp_path / "other", "4.1.1")
    assert prefer_installed_pyspark(["", zipped, py4j, other, same]) == ["", zipped, py4j, other, same]
    # no installed pyspark, or one without py4j beside it, or no pyspark.zip: unchanged
    assert prefer_installed_pyspark(["", zipped, py4j]) == ["", zipped, py4j]
    bare = _installed(tmp_path / "bare", "4.2.0", py4j=False)
    assert prefer_installed_pyspark([zipped, py4j, bare]) == [zipped, py4j, bare]
    assert prefer_installed_pyspark([py4j, same]) == [py4j, same]
    # a zip that is not one
    (tmp_path / "broken").mkdir()
    broken = tmp_path / "broken" / "pyspark.zip"
    broken.write_text("not a zip")
    assert prefer_installed_pyspark([str(broken), same]) == [str(broken), same]
