"""great-expectations suites for the market tables, and their Data Docs.

great-expectations has no polars support and takes seconds to import, so it is imported only
inside ``run_suite`` (never at definitions load) and handed a pandas frame. Its project lives
under ``var/great_expectations``; Data Docs are static HTML there, built offline.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

GE_ENV = "KEEL_GE_ROOT"
DEFAULT_GE_ROOT = Path(__file__).resolve().parents[1] / "var" / "great_expectations"


def ge_root() -> Path:
    """Where the great-expectations project (suites, results, Data Docs) lives."""
    return Path(os.environ.get(GE_ENV) or DEFAULT_GE_ROOT)


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """The outcome of one suite run, in plain types for asset-check metadata."""

    suite: str
    success: bool
    failed: list[dict[str, Any]]  # expectation type, column(s), unexpected count
    evaluated: int
    docs_index: Path | None


def _candle_expectations(gx: Any, timeframe: str) -> list[Any]:
    e = gx.expectations
    prices = ("open", "high", "low", "close")
    return [
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in ("venue", "symbol", "ts", *prices)],
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True) for c in prices],
        e.ExpectColumnValuesToBeBetween(column="volume", min_value=0),
        e.ExpectColumnValuesToBeInSet(column="timeframe", value_set=[timeframe]),
        e.ExpectCompoundColumnsToBeUnique(column_list=["venue", "symbol", "ts"]),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="low", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="open", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="close", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="open", column_B="low", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="close", column_B="low", or_equal=True),
    ]


def _context(gx: Any, root: Path) -> Any:
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    with contextlib.suppress(Exception):  # bars only cost log noise where this fails
        context.variables.progress_bars = {"globally": False}
    return context


def run_suite(
    table: str, name: str, timeframe: str, candles: pl.DataFrame, root: Path | None = None
) -> SuiteResult:
    """Validate candles with the candle suite, store the result and rebuild the Data Docs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no network calls, ever
    import great_expectations as gx

    context = _context(gx, root or ge_root())
    source = context.data_sources.add_or_update_pandas("keel")
    asset_name = table.replace("/", "__")
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        batch = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=name, expectations=_candle_expectations(gx, timeframe))
    suite = context.suites.add_or_update(suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(data=batch, suite=suite, name=name)
    )
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation],
            actions=[UpdateDataDocsAction(name="data_docs")],
        )
    )
    frame = candles.with_columns(pl.col("ts").dt.replace_time_zone(None)).to_pandas()
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    failed: list[dict[str, Any]] = []
    evaluated = 0
    for run in outcome.run_results.values():
        for result in run.results:
            evaluated += 1
            if not result.success:
                config = result.expectation_config
                failed.append(
                    {
                        "expectation": config.type,
                        "columns": {
                            k: v for k, v in config.kwargs.items() if k.startswith("column")
                        },
                        "unexpected": result.result.get("unexpected_count"),
                    }
                )
    return SuiteResult(name, bool(outcome.success), failed, evaluated, docs_index(root))


def docs_index(root: Path | None = None) -> Path | None:
    """The Data Docs entry page, if built."""
    page = (root or ge_root()) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return page if page.exists() else None


def build_docs(root: Path | None = None) -> Path | None:
    """Rebuild the Data Docs from stored suites and results (offline)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    context = _context(gx, root or ge_root())
    context.build_data_docs()
    return docs_index(root)
