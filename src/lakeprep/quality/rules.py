"""Row rules with Delta Live Tables expectation semantics, as Spark SQL.

A rule is ``name``, a boolean Spark SQL ``expr`` and a severity: ``warn`` (the row stays, violations are
counted and reported), ``drop`` (the row goes to ``quarantine.<layer>`` with ``rule:<name>`` in
``reject_reasons``) or ``fail`` (the run stops with :class:`RuleViolationError` naming the rule and a few
offending row ids). As in DLT, a row passes only where the expression is true: false *and* null violate.
The same rules become ``expect`` / ``expect_or_drop`` / ``expect_or_fail`` in the declarative modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakeprep.config import RuleConfig
from lakeprep.errors import ConfigError, LakeprepError
from lakeprep.schemas import without

__all__ = ["RuleOutcome", "RuleViolationError", "check_rules", "fail_on_rules", "split_by_rules", "with_rule_failures"]

FAILURES = "_rule_failures"


class RuleViolationError(LakeprepError):
    """A ``fail`` rule was violated: the run stops before the layer is written."""


@dataclass(frozen=True)
class RuleOutcome:
    """Violations counted per rule (all severities) and the rows split by the drop rules."""

    kept: DataFrame
    dropped: DataFrame  # with reject_reasons = ["rule:<name>", ...]
    violations: dict[str, int] = field(default_factory=dict)  # rule name -> rows violating it
    severities: dict[str, str] = field(default_factory=dict)


def _passes(rule: RuleConfig) -> Column:
    try:
        return F.coalesce(F.expr(rule.expr).cast("boolean"), F.lit(False))
    except ParseException as exc:
        raise ConfigError(f"rules.{rule.name}", f"expr {rule.expr!r} is not valid Spark SQL: {exc}") from None


def with_rule_failures(rules: Sequence[RuleConfig]) -> Callable[[DataFrame], DataFrame]:
    """Add ``_rule_failures``: names of the rules each row violates (empty array if none)."""

    def transform(df: DataFrame) -> DataFrame:
        if not rules:
            return df.withColumn(FAILURES, F.array().cast("array<string>"))
        checks = [F.when(~_passes(r), F.lit(r.name)) for r in rules]
        return df.withColumn(FAILURES, F.filter(F.array(*checks), lambda x: x.isNotNull()))

    return transform


def split_by_rules(flagged: DataFrame, rules: Sequence[RuleConfig]) -> tuple[DataFrame, DataFrame]:
    """``(kept, dropped)`` of a frame from :func:`with_rule_failures` by its ``drop`` rules (no Spark job).

    ``dropped`` has ``reject_reasons`` = ``["rule:<name>", ...]``; both lose the helper column.
    """
    drop = [r.name for r in rules if r.severity == "drop"]
    dropped_names = F.filter(F.col(FAILURES), lambda x: x.isin(*drop)) if drop else F.array().cast("array<string>")
    marked = flagged.withColumn("_dropped_by", dropped_names)
    kept = without(marked.where(F.size("_dropped_by") == 0), FAILURES, "_dropped_by")
    dropped = without(
        marked.where(F.size("_dropped_by") > 0).withColumn(
            "reject_reasons", F.transform("_dropped_by", lambda x: F.concat(F.lit("rule:"), x))
        ),
        FAILURES,
        "_dropped_by",
    )
    return kept, dropped


def fail_on_rules(rules: Sequence[RuleConfig], *, table: str) -> Callable[[DataFrame], DataFrame]:
    """Make the query itself fail on a row violating a ``fail`` rule (``expect_or_fail`` without DLT).

    For declarative runners, which may not run a counting job while a table is defined: the error is
    raised by the first task that meets such a row and names the rule and the table.
    """
    fails = [r for r in rules if r.severity == "fail"]

    def transform(df: DataFrame) -> DataFrame:
        out = df
        for r in fails:
            message = f"rule {r.name!r} on {table} (severity fail, `{r.expr}`) is violated"
            out = out.where(F.when(_passes(r), F.lit(True)).otherwise(F.raise_error(F.lit(message)).cast("boolean")))
        return out

    return transform


def check_rules(df: DataFrame, rules: Sequence[RuleConfig], *, table: str, id_column: str) -> RuleOutcome:
    """Evaluate ``rules`` on ``df``: raise on ``fail`` violations, count every rule, split off ``drop`` rows.

    Runs two small Spark jobs when there are rules (violation counts; sample ids of a failing rule).
    """
    if not rules:
        empty = df.limit(0).withColumn("reject_reasons", F.array().cast("array<string>"))
        return RuleOutcome(kept=df, dropped=empty)
    try:
        flagged = df.transform(with_rule_failures(rules))
        counts = {
            r["rule"]: int(r["n"])
            for r in flagged.select(F.explode(FAILURES).alias("rule")).groupBy("rule").agg(F.count(F.lit(1)).alias("n")).collect()
        }
    except AnalysisException as exc:
        raise ConfigError(f"rules.{table}", f"a rule does not fit the columns of {table} ({sorted(df.columns)}): {exc}") from None
    violations = {r.name: counts.get(r.name, 0) for r in rules}
    for r in rules:
        if r.severity == "fail" and violations[r.name]:
            ids = [
                row[0]
                for row in flagged.where(F.array_contains(FAILURES, r.name)).select(id_column).orderBy(id_column).limit(5).collect()
            ]
            raise RuleViolationError(
                f"rule {r.name!r} on {table} (severity fail, `{r.expr}`) is violated by {violations[r.name]} row(s), "
                f"e.g. {id_column} {ids}. Fix the data or the rule; nothing of this layer was written."
            )
    kept, dropped = split_by_rules(flagged, rules)
    return RuleOutcome(kept=kept, dropped=dropped, violations=violations, severities={r.name: r.severity for r in rules})
