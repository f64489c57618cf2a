"""Everything a research run takes from config: venue cost parameters, capital and trading
settings, the market built from lake frames, the BTC benchmark and its bad regimes."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl

from trading.backtest.engine import Array, Market, Settings
from trading.backtest.markets import market_from_frames
from trading.config import KeelConfig
from trading.costs import VenueCosts


def venue_costs(
    config: KeelConfig, calibrated: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, VenueCosts]:
    """Each venue's cost parameters, from the same config the router reads: half spread and
    impact factor from ``[routing.venues.<name>]`` (defaults there) unless ``calibrated``
    (venue → half spread bps, impact factor, fitted from fills: ``live/cost_calibration``)
    has the venue; fees from the venue's config where it sets them (simulated, replayed,
    paper venues), else NaN: an exchange's fees come from ``market/instruments``."""
    from trading.execution.config import VenueRewards

    out: dict[str, VenueCosts] = {}
    for v in config.venues:
        maker = getattr(v, "maker_fee", None)
        taker = getattr(v, "taker_fee", None)
        route = config.routing.venues.get(v.name, VenueRewards())
        spread, k = (calibrated or {}).get(v.name, (route.half_spread_bps, route.impact_k))
        out[v.name] = VenueCosts(
            math.nan if maker is None else float(maker),
            math.nan if taker is None else float(taker),
            spread,
            k,
        )
    return out


def settings(config: KeelConfig) -> Settings:
    """Capital, execution style and delay from ``[research]``."""
    r = config.research
    return Settings(
        capital=r.capital, style=r.style, delay=r.execution_delay_bars, band=r.rebalance_band
    )


def research_market(
    config: KeelConfig,
    candles: pl.DataFrame,
    funding: pl.DataFrame,
    instruments: pl.DataFrame | None,
    timeframe_minutes: int,
    calibrated: Mapping[str, tuple[float, float]] | None = None,
) -> Market:
    """The backtest market of a research run, every parameter from config or the lake
    (``calibrated``: spread and impact fitted from fills, see ``venue_costs``)."""
    r = config.research
    return market_from_frames(
        candles,
        funding,
        venue_costs(config, calibrated),
        timeframe_minutes,
        instruments=instruments,
        account=r.account_currency,
        par=r.par_currencies,
        borrow_rate=r.spot_borrow_rate,
        liquidity_days=r.liquidity_days,
    )


def benchmark(market: Market) -> Array:
    """Per-bar returns of BTC buy-and-hold: BTC spot against the account currency on the first
    venue that lists it, else any BTC market; zeros if none is loaded."""
    symbols = [s for _, s in market.instruments]
    ranked = sorted(
        (i for i, s in enumerate(symbols) if s.startswith("BTC/")),
        key=lambda i: (":" in symbols[i], i),
    )
    if not ranked:
        return np.zeros(len(market.ts))
    return np.asarray(market.returns[:, ranked[0]], dtype=np.float64)


def bad_regime(benchmark_returns: Array, bars: int) -> Array:
    """1.0 at bars where the benchmark's trailing ``bars``-bar return (up to the bar before,
    known at the decision) is negative, else 0.0."""
    growth = np.log1p(np.maximum(benchmark_returns, -0.999999))
    trailing = np.convolve(growth, np.ones(bars), mode="full")[: len(growth)]
    known = np.zeros_like(trailing)
    known[1:] = trailing[:-1]
    return (known < 0.0).astype(np.float64)
