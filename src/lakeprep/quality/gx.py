"""Table gates with Great Expectations: suites are data (``expectations/<layer>.json``), not code.

A suite file names, per table of the layer, a list of GX expectations (``{"type": ..., "kwargs": ...}``);
kwargs may refer to values lakeprep computes from the config with ``{"$PARAMETER": "chunk_size"}``
(GX suite parameters). The pseudo-table ``_stats`` is one row of layer statistics lakeprep derives from
the tables (e.g. the quarantine share, the largest split-ratio error), so shares and ratios are gated
the same way. Each table is validated with an ephemeral GX context on the version just written; the results
go to ``<results>/<run id>/<layer>.json``, each table's with the engine that validated it.

Two engines, the same suite: a table of at most ``gates.local_max_rows`` rows is fetched to the driver (its
checked columns only, one Spark job; the layer's tables fetched at once) and validated by GX's pandas engine,
because GX's Spark engine runs a Spark job per metric, several seconds of fixed cost per layer on a small
build. Larger tables, or every table with ``local_max_rows: 0``, are validated by GX's Spark engine where
they are. ``tests/spark/test_gates_tags.py`` checks that both engines give the same results.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from lakeprep.io import files
from lakeprep.io.delta import to_pandas_if_small
from lakeprep.errors import ConfigError, LakeprepError

__all__ = ["GateFailedError", "GateResult", "load_suite", "run_gate"]

log = logging.getLogger(__name__)


class GateFailedError(LakeprepError):
    """A layer's quality gate failed: the layer is not published and nothing downstream is built."""


@dataclass(frozen=True)
class GateResult:
    """The outcome of one layer's gate."""

    layer: str
    success: bool
    checked: int  # expectations evaluated
    failures: list[str] = field(default_factory=list)  # readable lines, one per failed expectation
    results_path: str | None = None
    seconds: float = 0.0
    up_to_date: bool = False  # nothing new to gate: every table of the layer is at its published version
    published: Mapping[str, int] = field(default_factory=dict)  # every table's newest published version, after this gate

    def report(self) -> str:
        if self.up_to_date:
            return f"gate {self.layer}: up to date (nothing new since the last publication)"
        head = f"gate {self.layer}: {'passed' if self.success else 'FAILED'} ({self.checked} expectations, {self.seconds:.1f}s)"
        return "\n".join([head, *[f"  - {f}" for f in self.failures], *([f"  results: {self.results_path}"] if self.results_path else [])])


def load_suite(suites_dir: str, layer: str) -> list[dict[str, Any]]:
    """The ``suites`` list of ``<suites_dir>/<layer>.json`` (empty if the file does not exist)."""
    path = Path(suites_dir) / f"{layer}.json"
    if not path.is_file():
        return []
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"gates.suites ({path})", f"not valid JSON: {exc}") from None
    suites = body.get("suites")
    if not isinstance(suites, list) or not all(isinstance(s, dict) and "table" in s and "expectations" in s for s in suites):
        raise ConfigError(f"gates.suites ({path})", 'needs {"suites": [{"table": ..., "expectations": [...]}, ...]}')
    return suites


def _describe(res: Any) -> str:
    cfg = res.expectation_config
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
    r = res.result or {}
    seen = r.get("observed_value", r.get("unexpected_count"))
    sample = r.get("partial_unexpected_list")
    # numpy scalars (the pandas engine's) read as plain values, as the Spark engine's do
    extra = f", e.g. {[v.item() if hasattr(v, 'item') else v for v in sample[:3]]}" if sample else ""
    if res.exception_info and res.exception_info.get("raised_exception"):
        return f"{cfg.type} {kwargs}: error {res.exception_info.get('exception_message')}"
    return f"{cfg.type} {kwargs}: observed {seen}{extra}"


_COLUMN_KWARGS = ("column", "column_A", "column_B")
_TABLE_LEVEL = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}


def _columns_checked(expectations: list[dict[str, Any]]) -> list[str] | None:
    """The columns a suite reads, or None when some expectation may look at every column (keep them all)."""
    cols: list[str] = []
    for e in expectations:
        kwargs = e.get("kwargs") or {}
        named = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
        named += [c for c in kwargs.get("column_list") or [] if isinstance(c, str)]
        if not named and e.get("type") not in _TABLE_LEVEL:
            return None
        cols += [c for c in named if c not in cols]
    return cols


def _gated_frame(frame: DataFrame, expectations: list[dict[str, Any]]) -> DataFrame:
    """The frame GX validates: only the columns the suite reads. A column the frame lacks is kept out of the
    projection so that GX reports it as a failed expectation."""
    cols = _columns_checked(expectations)
    if cols is not None:
        present = [c for c in cols if c in frame.columns]
        frame = frame.select(*present) if present else frame
    return frame


def _validate(asset: Any, suite: Any, data: Any, parameters: Mapping[str, Any]) -> Any:
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": data})
    return batch.validate(suite, expectation_parameters=dict(parameters))


def run_gate(
    layer: str,
    frames: Mapping[str, DataFrame],
    *,
    suites_dir: str,
    parameters: Mapping[str, Any],
    results_dir: str,
    run_id: str,
    local_max_rows: int,
) -> GateResult:
    """Validate ``frames`` (table name -> DataFrame) against the layer's suite; write the results JSON.
    Tables of at most ``local_max_rows`` rows are validated by GX's pandas engine (module docstring)."""
    import great_expectations as gx

    t0 = time.monotonic()
    suites = load_suite(suites_dir, layer)
    if not suites:
        log.warning("gate %s: no suite at %s/%s.json; the layer is published unchecked", layer, suites_dir, layer)
        return GateResult(layer, True, 0, seconds=time.monotonic() - t0)
    context = gx.get_context(mode="ephemeral")
    # GX draws a progress bar per validation on stderr ("Calculating Metrics"): noise in a build's log
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    # persist=False: GX would otherwise cache every validated table and never release it
    spark_source = context.data_sources.add_spark(name="lakeprep", persist=False)
    pandas_source = context.data_sources.add_pandas(name="lakeprep-local")
    checks = []
    for i, entry in enumerate(suites):
        table = entry["table"]
        if table not in frames:
            raise ConfigError(f"gates.suites ({layer}.json)", f"table {table!r} is not part of layer {layer}: {sorted(frames)}")
        try:
            suite = context.suites.add(gx.ExpectationSuite(name=f"{layer}:{table}#{i}", expectations=entry["expectations"]))
        except Exception as exc:  # GX raises its own types for unknown expectation types / bad kwargs
            raise ConfigError(f"gates.suites ({layer}.json)", f"suite for {table} is not valid: {exc}") from None
        checks.append((f"{table}#{i}", table, suite, _gated_frame(frames[table], entry["expectations"])))
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="lakeprep-gate") as pool:  # small jobs: at once
        local = list(pool.map(lambda check: to_pandas_if_small(check[3], local_max_rows), checks))
    out: dict[str, Any] = {"layer": layer, "run_id": run_id, "parameters": dict(parameters), "tables": {}}
    failures: list[str] = []
    checked = 0
    for (name, table, suite, frame), copy in zip(checks, local):
        if copy is not None:
            result = _validate(pandas_source.add_dataframe_asset(name=name), suite, copy, parameters)
        else:
            # persisted: GX runs a Spark job per metric (dozens per suite); each would re-read the table
            frame = frame.persist()
            try:
                result = _validate(spark_source.add_dataframe_asset(name=name), suite, frame, parameters)
            finally:
                frame.unpersist()
        checked += len(result.results)
        out["tables"][table] = {**result.to_json_dict(), "engine": "spark" if copy is None else "pandas"}
        for res in result.results:
            if not res.success:
                failures.append(f"{table}: {_describe(res)}")
    success = not failures
    path = files.join(results_dir, run_id, f"{layer}.json")  # a local folder or object storage
    out["success"] = success
    files.write_text(path, json.dumps(out, indent=2, sort_keys=True, default=str) + "\n")
    result_obj = GateResult(layer, success, checked, failures, str(path), time.monotonic() - t0)
    log.info("%s", result_obj.report())
    return result_obj
