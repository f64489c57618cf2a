"""Everything a research run takes from config: venue cost parameters, capital and trading
settings, the market built from lake frames, the BTC benchmark and the bad-regime bars."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl
from numpy.typing import NDArray

from trading.backtest.engine import Array, Market, Settings
from trading.backtest.markets import market_from_frames
from trading.config import KeelConfig
from trading.costs import VenueCosts
from trading.regimes.labels import bad_bars


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
    """Capital, execution style, fill and delay from ``[research]``; every style priced with
    ``[routing]`` (maker model, rewards programs, weights, budget), as the router prices it."""
    r = config.research
    return Settings(
        capital=r.capital,
        style=r.style,
        routing=config.routing,
        delay=r.execution_delay_bars,
        band=r.rebalance_band,
        fill=r.execution_fill,
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


def benchmark(market: Market, config: KeelConfig | None = None) -> Array:
    """Per-bar returns of BTC buy-and-hold: the regime benchmark (``[regimes]``) when the
    market holds it, else BTC spot against the account currency on the first venue that
    lists it, else any BTC market; zeros if none is loaded."""
    key = _regime_key(config) if config is not None else None
    if key is not None and key in market.instruments:
        return np.asarray(market.returns[:, market.instruments.index(key)], dtype=np.float64)
    symbols = [s for _, s in market.instruments]
    ranked = sorted(
        (i for i, s in enumerate(symbols) if s.startswith("BTC/")),
        key=lambda i: (":" in symbols[i], i),
    )
    if not ranked:
        return np.zeros(len(market.ts))
    return np.asarray(market.returns[:, ranked[0]], dtype=np.float64)


def regime_benchmark(config: KeelConfig) -> tuple[str, str]:
    """The (venue, symbol) whose closes label regimes: ``[regimes] benchmark`` on
    ``benchmark_venue``, else on the first configured venue listing it."""
    key = _regime_key(config)
    if key is None:
        symbol = config.regimes.benchmark
        raise ValueError(
            f"no configured venue lists the regime benchmark {symbol!r}; add it to a venue or "
            "set [regimes] benchmark to a listed symbol"
        )
    return key


def _regime_key(config: KeelConfig) -> tuple[str, str] | None:
    symbol = config.regimes.benchmark
    venue = config.regimes.benchmark_venue or next(
        (v.name for v in config.venues if symbol in v.instruments), None
    )
    return None if venue is None else (venue, symbol)


def bad_regimes(market: Market, config: KeelConfig) -> NDArray[np.bool_]:
    """Bars whose return was earned in a bad regime, by the regime report's definition
    (``[regimes]``, ``labels.bad_bars``) on the regime benchmark's closes; none when the
    market does not hold the benchmark."""
    key = _regime_key(config)
    if key is None or key not in market.instruments:
        return np.zeros(len(market.ts), dtype=bool)
    close = market.close[:, market.instruments.index(key)]
    return bad_bars(close, market.bars_per_day, config.regimes)
