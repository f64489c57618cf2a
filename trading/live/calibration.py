"""Calibrating the research cost model from live and paper fills (the shortfall fed back).

Each Keel taker fill is compared with the decision price of its order: its slippage in bps
(``side × (fill − decision) / decision``, the fee left out) is what the cost model charges as
half spread plus square-root impact, ``half_spread_bps + k · σ_daily · sqrt(N / ADV) · 1e4``
(``trading.costs``). A least-squares line through (impact driver, slippage) per venue gives
the fitted half spread (intercept) and impact factor (slope). A few fills must not swing
research, so a venue keeps its configured prior below ``min_fills``, and above it the
parameters are shrunk toward the prior with weight ``n / (n + prior_fills)``: the prior counts
as ``prior_fills`` fills of evidence. Maker fills pay no spread or impact in the model and are
left out of the fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field

from trading.configbase import _Frozen
from trading.costs import VenueCosts

TS = pl.Datetime("us", "UTC")

OBSERVATIONS: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "side": pl.String(),
    "style": pl.String(),  # the fill's liquidity: taker | maker
    "ts": TS,
    "notional": pl.Float64(),
    "fee_bps": pl.Float64(),
    "slippage_bps": pl.Float64(),  # against the decision price, fee excluded; positive = cost
    "impact_x": pl.Float64(),  # σ_daily · sqrt(notional / ADV): the impact factor's driver
}

LAYOUT: dict[str, pl.DataType] = {
    "version": pl.Int64(),  # one per calibration that found new fills; the newest is in use
    "fitted_at": TS,
    "window_start": TS,  # the fills' time range
    "window_end": TS,
    "venue": pl.String(),
    "side": pl.String(),  # all (what research uses) | buy | sell (shown, not used)
    "fills": pl.Int64(),  # taker fills in the fit
    "prior_half_spread_bps": pl.Float64(),
    "prior_impact_k": pl.Float64(),
    "fitted_half_spread_bps": pl.Float64(),  # null: too few fills to fit at all
    "fitted_impact_k": pl.Float64(),
    "weight": pl.Float64(),  # of the fit in the used value (0: the prior alone)
    "used_half_spread_bps": pl.Float64(),
    "used_impact_k": pl.Float64(),
    "status": pl.String(),
}
NULLABLE = frozenset({"fitted_half_spread_bps", "fitted_impact_k"})


class CostCalibrationConfig(_Frozen):
    """``[research.calibration]``: whether research prices orders with the spread and impact
    calibrated from fills (``live/cost_calibration``) instead of ``[routing.venues]``."""

    enabled: bool = Field(default=True, description="research reads calibrated costs if present")
    min_fills: int = Field(default=30, ge=2, description="taker fills a venue needs to be fitted")
    prior_fills: float = Field(
        default=100.0, ge=0, description="shrinkage: the prior counts as this many fills"
    )
    window_days: int = Field(default=30, ge=1, description="fills this recent are fitted")
    accounts: tuple[Literal["live", "paper"], ...] = Field(
        default=("live",),
        description="whose fills are fitted: a paper account fills by the simulator's own cost "
        "model, so fitting them teaches research the simulator, not the venue",
    )


@dataclass(frozen=True, slots=True)
class Fit:
    """One venue's (and side's) calibration: what was fitted and what research should use."""

    fills: int
    fitted_half_spread_bps: float | None
    fitted_impact_k: float | None
    weight: float
    used_half_spread_bps: float
    used_impact_k: float
    status: str


def observations(
    fills: pl.DataFrame, orders: pl.DataFrame, liquidity: pl.DataFrame
) -> pl.DataFrame:
    """One row per Keel fill with its decision price: slippage and the impact driver.
    ``liquidity`` holds ``venue, symbol, adv`` (daily traded value) and ``daily_vol``; a fill
    whose market has no known volume gets a NaN driver and is left out of the fit."""
    good = [pl.col(c).is_finite() & (pl.col(c) > 0) for c in ("amount", "price")]
    keel = fills.filter(pl.col("origin") == "keel", *good, pl.col("fee").is_finite())
    if keel.is_empty():
        return pl.DataFrame(schema=OBSERVATIONS)
    decision = orders.filter(pl.col("price").is_finite(), pl.col("price") > 0).unique(
        ["account", "venue", "client_order_id"], keep="first"
    )
    joined = keel.join(
        decision.select("account", "venue", "client_order_id", pl.col("price").alias("decision")),
        on=["account", "venue", "client_order_id"],
        how="inner",
    ).join(
        liquidity.select("venue", "symbol", "adv", "daily_vol"), on=["venue", "symbol"], how="left"
    )
    notional = pl.col("amount") * pl.col("price")
    sign = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    adv = pl.col("adv").fill_null(float("nan"))
    usable = adv.is_finite() & (adv > 0)
    return joined.select(
        "venue",
        "side",
        pl.col("liquidity").alias("style"),
        "ts",
        notional.alias("notional"),
        (pl.col("fee") / notional * 1e4).alias("fee_bps"),
        (sign * (pl.col("price") - pl.col("decision")) / pl.col("decision") * 1e4).alias(
            "slippage_bps"
        ),
        pl.when(usable)
        .then(pl.col("daily_vol").fill_null(0.0).clip(0.0) * (notional / adv).sqrt())
        .otherwise(float("nan"))
        .alias("impact_x"),
    )


def fit(
    slippage_bps: np.ndarray, impact_x: np.ndarray, prior: VenueCosts, cfg: CostCalibrationConfig
) -> Fit:
    """Half spread and impact factor from taker fills, shrunk toward ``prior``.

    Ordinary least squares of slippage on ``1e4 · impact_x``; when the drivers do not vary
    (one order size, one market) only the half spread is fitted and the impact factor is the
    prior's. Fitted values are floored at zero (a cost model never pays the taker)."""
    keep = np.isfinite(slippage_bps) & np.isfinite(impact_x)
    y, x = slippage_bps[keep], impact_x[keep] * 1e4
    n = int(y.size)
    s0, k0 = prior.half_spread_bps, prior.impact_k
    if n < 2:
        return Fit(n, None, None, 0.0, s0, k0, f"prior: {n} taker fills (< {cfg.min_fills})")
    spread_x = float(np.var(x))
    if spread_x > 1e-12 * max(1.0, float(np.mean(x * x))):
        k = float(np.cov(x, y, bias=True)[0, 1] / spread_x)
        s = float(np.mean(y) - k * np.mean(x))
        how = "fitted"
    else:
        k = k0
        s = float(np.mean(y - k0 * x))
        how = "fitted half spread (order sizes do not vary: impact factor kept)"
    s, k = max(s, 0.0), max(k, 0.0)
    if n < cfg.min_fills:
        return Fit(n, s, k, 0.0, s0, k0, f"prior: {n} taker fills (< {cfg.min_fills})")
    w = n / (n + cfg.prior_fills)
    return Fit(n, s, k, w, s0 + w * (s - s0), k0 + w * (k - k0), how)


def calibrate(
    obs: pl.DataFrame,
    priors: Mapping[str, VenueCosts],
    cfg: CostCalibrationConfig,
    version: int,
    fitted_at: datetime,
) -> pl.DataFrame:
    """The calibration rows of every venue in ``priors`` (all sides, then buy and sell) from
    the taker fills in ``obs`` of the last ``window_days`` before the newest fill; an empty
    frame when there is no fill to learn from (the table then stays as it was)."""
    taker = obs.filter(pl.col("style") == "taker")
    if taker.is_empty():
        return pl.DataFrame(schema=LAYOUT)
    end = taker["ts"].max()
    assert isinstance(end, datetime)
    taker = taker.filter(pl.col("ts") > end - pl.duration(days=cfg.window_days))
    start = taker["ts"].min()
    rows = []
    for venue in sorted(priors):
        prior = priors[venue]
        mine = taker.filter(pl.col("venue") == venue)
        for side in ("all", "buy", "sell"):
            part = mine if side == "all" else mine.filter(pl.col("side") == side)
            f = fit(
                part["slippage_bps"].to_numpy().astype(np.float64),
                part["impact_x"].to_numpy().astype(np.float64),
                prior,
                cfg,
            )
            rows.append(
                {
                    "version": version,
                    "fitted_at": fitted_at,
                    "window_start": start,
                    "window_end": end,
                    "venue": venue,
                    "side": side,
                    "fills": f.fills,
                    "prior_half_spread_bps": prior.half_spread_bps,
                    "prior_impact_k": prior.impact_k,
                    "fitted_half_spread_bps": f.fitted_half_spread_bps,
                    "fitted_impact_k": f.fitted_impact_k,
                    "weight": f.weight,
                    "used_half_spread_bps": f.used_half_spread_bps,
                    "used_impact_k": f.used_impact_k,
                    "status": f.status,
                }
            )
    return pl.DataFrame(rows, schema=LAYOUT)


def newest(table: pl.DataFrame) -> pl.DataFrame:
    """The rows of the newest calibration version (empty when there is none)."""
    if table.is_empty():
        return table
    return table.filter(pl.col("version") == table["version"].max())


def calibrated(table: pl.DataFrame) -> tuple[int | None, dict[str, tuple[float, float]]]:
    """The newest version and, per venue, the (half spread bps, impact factor) research uses:
    the ``all``-sides row. None and nothing when no calibration exists."""
    rows = newest(table).filter(pl.col("side") == "all")
    if rows.is_empty():
        return None, {}
    out = {
        r["venue"]: (float(r["used_half_spread_bps"]), float(r["used_impact_k"]))
        for r in rows.iter_rows(named=True)
        if math.isfinite(r["used_half_spread_bps"]) and math.isfinite(r["used_impact_k"])
    }
    return int(rows["version"][0]), out


def unchanged(previous: pl.DataFrame, rows: pl.DataFrame) -> bool:
    """Whether ``rows`` learn nothing new over the newest stored version (same fill counts and
    window): then no new version is written."""
    last = newest(previous)
    if last.is_empty() or rows.is_empty():
        return False
    key = ["venue", "side", "fills", "window_start", "window_end"]
    return last.select(key).sort(key).equals(rows.select(key).sort(key))
