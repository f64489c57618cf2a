"""Calibrating the research cost model from live and paper fills (the shortfall fed back).

Each Keel taker order (its fills aggregated: ``trading.live.order_fills``) is compared with its
decision price: its slippage in bps (``side × (VWAP − decision) / decision``, the fee left out)
is what the cost model charges as half spread plus square-root impact, ``half_spread_bps + k ·
σ_daily · sqrt(N / ADV) · 1e4`` (``trading.costs``), with N the order's whole notional and ADV
and σ_daily from ``trading.liquidity`` over ``[research] liquidity_days``, the estimates
research applies the factor with. A least-squares line through (impact driver, slippage) per
venue gives the fitted half spread (intercept) and impact factor (slope). A few orders must not
swing research, so a venue keeps its configured prior below ``min_fills`` orders, and above it
the parameters are shrunk toward the prior with weight ``n / (n + prior_fills)``: the prior
counts as ``prior_fills`` orders of evidence. The table stores the fit; the shrinkage is
applied when it is read (``reweigh``), with the prior and settings configured then. Maker and
mixed orders pay no spread or impact in the model and are left out of the fit.
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
    "style": pl.String(),  # the fills' liquidity: taker | maker | mixed
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
    "fills": pl.Int64(),  # taker orders in the fit (an order's fills count once: order_fills)
    "prior_half_spread_bps": pl.Float64(),  # at fit time; readers use the current prior
    "prior_impact_k": pl.Float64(),
    "fitted_half_spread_bps": pl.Float64(),  # null: too few fills to fit at all
    "fitted_impact_k": pl.Float64(),  # null: order sizes did not vary (the prior's is used)
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
    min_fills: int = Field(default=30, ge=2, description="taker orders a venue needs to be fitted")
    prior_fills: float = Field(
        default=100.0, ge=0, description="shrinkage: the prior counts as this many orders"
    )
    window_days: int = Field(default=30, ge=1, description="orders this recent are fitted")
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


def observations(filled: pl.DataFrame) -> pl.DataFrame:
    """One row per Keel order (``trading.live.order_fills.per_order``, with ``adv`` and
    ``daily_vol`` known at its first fill, ``trading.liquidity.as_of``): its slippage against
    the decision price and the impact driver at its full size. An order whose market has no
    known volume gets a NaN driver and is left out of the fit."""
    if filled.is_empty():
        return pl.DataFrame(schema=OBSERVATIONS)
    notional = pl.col("notional")
    sign = pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0)
    adv = pl.col("adv").fill_null(float("nan"))
    usable = adv.is_finite() & (adv > 0)
    return filled.select(
        "venue",
        "side",
        "style",
        "ts",
        notional.alias("notional"),
        (pl.col("fee") / notional * 1e4).alias("fee_bps"),
        (sign * (pl.col("price") - pl.col("decision")) / pl.col("decision") * 1e4).alias(
            "slippage_bps"
        ),
        pl.when(usable)
        .then(pl.col("daily_vol").fill_null(0.0).fill_nan(0.0).clip(0.0) * (notional / adv).sqrt())
        .otherwise(float("nan"))
        .alias("impact_x"),
    ).cast(OBSERVATIONS)  # type: ignore[arg-type]


def shrink(
    n: int,
    fitted_half_spread_bps: float | None,
    fitted_impact_k: float | None,
    prior: VenueCosts,
    cfg: CostCalibrationConfig,
) -> Fit:
    """What research uses from a fit of ``n`` taker orders: the prior below ``min_fills`` (or
    with nothing fitted), else the fit shrunk toward the prior with weight ``n / (n +
    prior_fills)``; an impact factor that could not be fitted (None) is the prior's. Applied
    when a calibration is read, with the current prior and settings, so an edit of
    ``[routing.venues]`` or ``[research.calibration]`` takes effect without new fills."""
    s0, k0 = prior.half_spread_bps, prior.impact_k
    if n < cfg.min_fills or fitted_half_spread_bps is None:
        status = f"prior: {n} taker orders (< {cfg.min_fills})"
        return Fit(n, fitted_half_spread_bps, fitted_impact_k, 0.0, s0, k0, status)
    w = n / (n + cfg.prior_fills) if n + cfg.prior_fills > 0 else 0.0
    s = s0 + w * (fitted_half_spread_bps - s0)
    if fitted_impact_k is None:
        status = "fitted half spread (order sizes do not vary: impact factor is the prior's)"
        return Fit(n, fitted_half_spread_bps, None, w, s, k0, status)
    return Fit(
        n, fitted_half_spread_bps, fitted_impact_k, w, s, k0 + w * (fitted_impact_k - k0), "fitted"
    )


def fit(
    slippage_bps: np.ndarray, impact_x: np.ndarray, prior: VenueCosts, cfg: CostCalibrationConfig
) -> Fit:
    """Half spread and impact factor from taker orders, shrunk toward ``prior``.

    Ordinary least squares of slippage on ``1e4 · impact_x``; when the drivers do not vary
    (one order size, one market) only the half spread is fitted, with the prior's impact
    factor taken as known, and the fitted impact factor is None. Fitted values are floored at
    zero (a cost model never pays the taker)."""
    keep = np.isfinite(slippage_bps) & np.isfinite(impact_x)
    y, x = slippage_bps[keep], impact_x[keep] * 1e4
    n = int(y.size)
    if n < 2:
        return shrink(n, None, None, prior, cfg)
    spread_x = float(np.var(x))
    k: float | None
    if spread_x > 1e-12 * max(1.0, float(np.mean(x * x))):
        k = max(float(np.cov(x, y, bias=True)[0, 1] / spread_x), 0.0)
        s = float(np.mean(y) - k * np.mean(x))
    else:
        k = None
        s = float(np.mean(y - prior.impact_k * x))
    return shrink(n, max(s, 0.0), k, prior, cfg)


def calibrate(
    obs: pl.DataFrame,
    priors: Mapping[str, VenueCosts],
    cfg: CostCalibrationConfig,
    version: int,
    fitted_at: datetime,
) -> pl.DataFrame:
    """The calibration rows of every venue in ``priors`` (all sides, then buy and sell) from
    the taker orders in ``obs`` of the last ``window_days`` before the newest one; an empty
    frame when there is no order to learn from (the table then stays as it was)."""
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


def reweigh(
    rows: pl.DataFrame, priors: Mapping[str, VenueCosts], cfg: CostCalibrationConfig
) -> pl.DataFrame:
    """Stored calibration rows with prior, weight, used values and status recomputed from the
    current ``priors`` and ``cfg`` (``shrink``): what research uses now. Rows of a venue no
    longer configured are dropped."""
    out = []
    for r in rows.filter(pl.col("venue").is_in(list(priors))).iter_rows(named=True):
        prior = priors[r["venue"]]
        f = shrink(int(r["fills"]), r["fitted_half_spread_bps"], r["fitted_impact_k"], prior, cfg)
        out.append(
            {
                **r,
                "prior_half_spread_bps": prior.half_spread_bps,
                "prior_impact_k": prior.impact_k,
                "weight": f.weight,
                "used_half_spread_bps": f.used_half_spread_bps,
                "used_impact_k": f.used_impact_k,
                "status": f.status,
            }
        )
    return pl.DataFrame(out, schema=LAYOUT)


def calibrated(
    table: pl.DataFrame, priors: Mapping[str, VenueCosts], cfg: CostCalibrationConfig
) -> tuple[int | None, dict[str, tuple[float, float]]]:
    """The newest version and, per venue with a fit that carries weight, the (half spread bps,
    impact factor) research uses: the ``all``-sides row shrunk toward the current prior. A
    venue without enough taker orders is not in it (research uses its config). None and
    nothing when no calibration exists."""
    rows = newest(table).filter(pl.col("side") == "all")
    if rows.is_empty():
        return None, {}
    out = {
        r["venue"]: (float(r["used_half_spread_bps"]), float(r["used_impact_k"]))
        for r in reweigh(rows, priors, cfg).iter_rows(named=True)
        if r["weight"] > 0
        and math.isfinite(r["used_half_spread_bps"])
        and math.isfinite(r["used_impact_k"])
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
