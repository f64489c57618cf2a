"""Results recomputed whole on every run (portfolio weights and equity, regime labels and
report): validated, then the table is overwritten in one commit, so a strategy that left the
portfolio leaves no stale rows and readers see the old result or the new one, never a mix."""

from __future__ import annotations

import polars as pl

from lake import catalog
from lake.catalog import TableSpec
from lake.store import Lake, WriteResult


def overwrite(lake: Lake, spec: TableSpec, df: pl.DataFrame) -> WriteResult:
    """Validate ``df`` against the table, then replace the table's contents with it."""
    from deltalake import write_deltalake

    data = lake.validate(spec, df)
    write_deltalake(
        lake.uri(spec),
        data.to_arrow(),
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=list(spec.partition_by) or None,
        storage_options=lake.storage_options,
    )
    return WriteResult(spec.name, lake.version(spec), data.height, data.height, 0, None, None)


def latest_weights(lake: Lake) -> dict[str, float]:
    """The portfolio's current weight per strategy (the newest rebalance): what the execution
    layer scales each strategy's targets by when it nets them."""
    weights = lake.scan(catalog.portfolio_weights()).collect()
    if weights.is_empty():
        return {}
    newest = weights.filter(pl.col("ts") == pl.col("ts").max())
    return dict(zip(newest["strategy"].to_list(), newest["weight"].to_list(), strict=True))
