"""The table specs form one consistent graph, and the DLT translation of rules (no Spark needed).

Databricks' ``dlt`` module cannot be installed outside Databricks; the DLT branch of the compat layer is
checked against a recorder with the same decorator signatures (``table``, ``view``, ``expect_all*``),
which is all lakeprep calls. The SDP branch runs for real in ``tests/e2e/test_runners.py``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest

from lakeprep.config import RuleConfig
from lakeprep.pipeline.declarative import PipelineApi, dataset_name
from lakeprep.pipeline.layers import LANDING_FILES, LANDING_PENDING, SPECS, STORED_SCHEMAS
from lakeprep.pipeline.spec import TableSpec, build_order


def test_every_stored_table_has_one_spec_and_every_input_is_defined() -> None:
    stored = {name for name, spec in SPECS.items() if not spec.view}
    assert stored == set(STORED_SCHEMAS)
    known = set(SPECS) | {LANDING_PENDING, LANDING_FILES}
    for spec in SPECS.values():
        assert set(spec.inputs) <= known, spec.name
        if spec.quarantine:
            assert spec.quarantine in STORED_SCHEMAS and spec.to_quarantine is not None, spec.name
        if not spec.view:
            assert spec.gate in ("bronze", "silver", "gold"), spec.name


def test_build_order_puts_inputs_first_and_rejects_cycles() -> None:
    order = [s.name for s in build_order(SPECS)]
    for spec in SPECS.values():
        for dep in spec.inputs:
            if dep in SPECS:
                assert order.index(dep) < order.index(spec.name), (dep, spec.name)
    noop: Callable[..., Any] = lambda inputs, cfg, ctx: None  # noqa: E731
    cyclic = {"a": TableSpec("a", ("b",), noop), "b": TableSpec("b", ("a",), noop)}
    with pytest.raises(ValueError, match="cycle"):
        build_order(cyclic)


def test_dataset_names_do_not_collide() -> None:
    names = [dataset_name(n) for n in SPECS]
    assert len(names) == len(set(names))
    assert dataset_name("silver.documents") == "silver_documents"


class _Recorder:
    """Records DLT decorator calls in order (the DLT signatures lakeprep uses)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _decorator(self, kind: str, **kwargs: Any) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
        def wrap(fn: Callable[[], Any]) -> Callable[[], Any]:
            self.calls.append((kind, kwargs))
            return fn

        return wrap

    def module(self) -> types.ModuleType:
        m = types.ModuleType("dlt")
        m.table = lambda **kw: self._decorator("table", **kw)  # type: ignore[attr-defined]
        m.view = lambda **kw: self._decorator("view", **kw)  # type: ignore[attr-defined]
        for name in ("expect_all", "expect_all_or_drop", "expect_all_or_fail"):
            setattr(m, name, (lambda n: lambda rules: self._decorator(n, rules=rules))(name))
        return m


def test_rules_become_dlt_expectations_by_severity() -> None:
    rec = _Recorder()
    api = PipelineApi("dlt", rec.module())
    rules = (
        RuleConfig("has_hash", "length(content_hash) = 64", "fail"),
        RuleConfig("few_symbols", "symbol_word_ratio <= 0.5", "drop"),
        RuleConfig("long_enough", "word_count >= 30", "drop"),
        RuleConfig("letters", "text rlike '[A-Za-z]'", "warn"),
    )
    api.view("silver_documents__checked", lambda: None, rules=rules)
    api.table("silver_documents", lambda: None, comment="c", properties={"k": "v"})
    api.intermediate("silver_scored", lambda: None)
    calls = dict((kind, kw) for kind, kw in rec.calls if kind.startswith("expect"))
    assert calls["expect_all"]["rules"] == {"letters": "text rlike '[A-Za-z]'"}
    assert calls["expect_all_or_drop"]["rules"] == {"few_symbols": "symbol_word_ratio <= 0.5", "long_enough": "word_count >= 30"}
    assert calls["expect_all_or_fail"]["rules"] == {"has_hash": "length(content_hash) = 64"}
    assert ("view", {"name": "silver_documents__checked"}) in rec.calls
    assert ("table", {"name": "silver_documents", "comment": "c", "table_properties": {"k": "v"}}) in rec.calls
    assert any(kind == "table" and kw.get("temporary") is True and kw["name"] == "silver_scored" for kind, kw in rec.calls)
