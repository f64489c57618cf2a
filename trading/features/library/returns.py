"""Log returns over several horizons."""

import polars as pl

from trading.features.registry import feature


def _log_return(bars: int) -> pl.Expr:
    return pl.col("close").log().diff(bars)


@feature("ret_1", lookback=1)
def ret_1() -> pl.Expr:
    """Log return of the last bar."""
    return _log_return(1)


@feature("ret_24", lookback=24)
def ret_24() -> pl.Expr:
    """Log return over 24 bars (a day of hourly bars)."""
    return _log_return(24)


@feature("ret_168", lookback=168)
def ret_168() -> pl.Expr:
    """Log return over 168 bars (a week of hourly bars)."""
    return _log_return(168)
