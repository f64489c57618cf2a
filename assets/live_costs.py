"""The shortfall fed back to research: calibrating each venue's spread and impact from the
journal's fills (``trading.live.calibration``) into ``live/cost_calibration``, and the cost
parameters a research run prices with (calibrated when present and enabled, else config)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from trading.config import KeelConfig


@dataclass(frozen=True, slots=True)
class CostSource:
    """The spread and impact a research run uses: a calibration version's, or config's."""

    version: int | None = None
    calibrated: dict[str, tuple[float, float]] = field(default_factory=dict)

    def params(self, config: KeelConfig) -> str:
        """Per venue, the half spread and impact factor used and where they came from (JSON,
        recorded with every research result)."""
        from trading.backtest.setup import venue_costs

        source = f"calibration v{self.version}" if self.version is not None else "config"
        return json.dumps(
            {
                name: {
                    "half_spread_bps": c.half_spread_bps,
                    "impact_k": c.impact_k,
                    "source": source if name in self.calibrated else "config",
                }
                for name, c in venue_costs(config, self.calibrated).items()
            },
            sort_keys=True,
        )


def research_costs(lake: Any, config: KeelConfig, table: pl.DataFrame | None = None) -> CostSource:
    """The newest calibration (``table``: the stored versions, read when not given), shrunk
    toward config's current spread and impact, when ``[research.calibration] enabled`` and a
    venue has enough taker orders; config's spread and impact otherwise."""
    from lake.live import read_calibration
    from trading.backtest.setup import venue_costs
    from trading.live.calibration import calibrated

    cal = config.research.calibration
    if not cal.enabled:
        return CostSource()
    stored = read_calibration(lake) if table is None else table
    version, params = calibrated(stored, venue_costs(config), cal)
    return CostSource(version, params) if params else CostSource()


def current_calibration(config: KeelConfig, table: pl.DataFrame) -> pl.DataFrame:
    """The newest stored calibration as research reads it now: prior, weight, used values
    and status from the current config (``trading.live.calibration.reweigh``)."""
    from trading.backtest.setup import venue_costs
    from trading.live.calibration import newest, reweigh

    return reweigh(newest(table), venue_costs(config), config.research.calibration)


def liquidity(config: KeelConfig, lake: Any, start: datetime, end: datetime) -> pl.DataFrame:
    """ADV and σ_daily per venue, symbol and research bar from ``start`` to ``end``, over the
    trailing ``[research] liquidity_days`` (``trading.liquidity``: the estimates research
    applies the impact factor with, so the calibration fits it on the same ones)."""
    from lake import catalog
    from trading.liquidity import SCHEMA, trailing
    from trading.timeframes import timeframe_delta

    timeframe = config.data.research_timeframe
    step = timeframe_delta(timeframe)
    spec = catalog.candles(timeframe)
    if not lake.exists(spec):
        return pl.DataFrame(schema=SCHEMA)
    days = config.research.liquidity_days
    candles = (
        lake.scan(spec)
        .filter(pl.col("ts") > start - timedelta(days=days) - 2 * step, pl.col("ts") <= end)
        .select("venue", "symbol", "ts", "close", "volume")
        .collect()
    )
    # the newest bar closed by ``start`` opened after start - 2 steps (``as_of``)
    return trailing(candles, step, days).filter(pl.col("ts") > start - 2 * step)


@dataclass(frozen=True, slots=True)
class Feedback:
    """What the shortfall and the calibration both read, read once: every Keel order with
    fills (``trading.live.order_fills``) and the liquidity known at its first fill, the net
    targets (strategy shares) and the stored calibration versions."""

    filled: pl.DataFrame
    net_targets: pl.DataFrame
    calibration: pl.DataFrame


def read_feedback(config: KeelConfig, lake: Any, journal_lake: Any) -> Feedback:
    """One read of the journal's fills, orders and net targets, one scan of the candles over
    the orders' time range, one read of ``live/cost_calibration``."""
    from lake.live import live_table, read_calibration
    from trading.liquidity import as_of
    from trading.live.order_fills import per_order
    from trading.timeframes import timeframe_delta

    fills = journal_lake.scan(live_table("fills")).collect()
    orders = journal_lake.scan(live_table("orders")).collect()
    net = journal_lake.scan(live_table("net_targets")).collect()
    filled = per_order(fills, orders)
    if filled.height:
        start, end = filled["ts"].min(), filled["ts"].max()
        assert isinstance(start, datetime)
        assert isinstance(end, datetime)
        step = timeframe_delta(config.data.research_timeframe)
        stats = liquidity(config, lake, start, end)
        filled = as_of(filled, stats, step)
    else:
        filled = filled.with_columns(
            adv=pl.lit(None, pl.Float64), daily_vol=pl.lit(None, pl.Float64)
        )
    return Feedback(filled, net, read_calibration(lake))


@dataclass(frozen=True, slots=True)
class Calibration:
    """What one calibration did: the version in use afterwards and its rows, and why nothing
    was written when nothing was."""

    written: bool
    current: pl.DataFrame
    note: str


def calibrate_costs(
    config: KeelConfig,
    lake: Any,
    journal_lake: Any,
    now: datetime | None = None,
    feedback: Feedback | None = None,
) -> Calibration:
    """Fit spread and impact per venue from the journal's Keel orders and append them as a
    new version of ``live/cost_calibration`` (``feedback``: what was already read, else the
    journal is read here). An empty or unreadable journal, or orders that teach nothing new
    (same counts and window as the newest version), leave the table as it was."""
    from deltalake.exceptions import DeltaError

    from lake.live import cost_calibration_table
    from trading.backtest.setup import venue_costs
    from trading.live.calibration import calibrate, newest, observations, unchanged

    if feedback is None:
        try:
            feedback = read_feedback(config, lake, journal_lake)
        except (OSError, DeltaError, pl.exceptions.PolarsError) as exc:
            # a journal that cannot be read must not touch research's costs
            from lake.live import read_calibration

            previous = newest(read_calibration(lake))
            return Calibration(
                False,
                current_calibration(config, previous),
                f"journal not readable ({exc}): unchanged",
            )
    previous = feedback.calibration
    accounts = config.research.calibration.accounts
    mine = feedback.filled.filter(pl.col("account").is_in(accounts))
    if mine.is_empty():
        whose = " or ".join(accounts)
        return Calibration(
            False, current_calibration(config, previous), f"no Keel {whose} fills: unchanged"
        )
    obs = observations(mine)
    version = int(previous["version"].max()) + 1 if previous.height else 1  # type: ignore[arg-type]
    rows = calibrate(
        obs, venue_costs(config), config.research.calibration, version, now or datetime.now(UTC)
    )
    if rows.is_empty():
        return Calibration(
            False, current_calibration(config, previous), "no taker order with a decision price"
        )
    if unchanged(previous, rows):
        return Calibration(
            False, current_calibration(config, previous), f"no new fills since v{version - 1}"
        )
    lake.upsert(cost_calibration_table(), rows)
    return Calibration(True, current_calibration(config, rows), f"v{version} written")


def calibration_view(rows: pl.DataFrame) -> pl.DataFrame:
    """The table shown in the asset's metadata and ``keel costs``: venue, taker orders, prior,
    fitted and used half spread (bps) and impact factor, research's row (all sides) first."""
    if rows.is_empty():
        return pl.DataFrame()
    return rows.sort(pl.col("side") != "all", "venue", "side").select(
        "version",
        "venue",
        "side",
        pl.col("fills").alias("n orders"),
        pl.format(
            "{} / {}",
            pl.col("prior_half_spread_bps").round(2),
            pl.col("prior_impact_k").round(3),
        ).alias("prior (spread bps / k)"),
        pl.format(
            "{} / {}",
            pl.col("fitted_half_spread_bps").round(2).cast(pl.String).fill_null("-"),
            pl.col("fitted_impact_k").round(3).cast(pl.String).fill_null("-"),
        ).alias("fitted"),
        pl.format(
            "{} / {}", pl.col("used_half_spread_bps").round(2), pl.col("used_impact_k").round(3)
        ).alias("used"),
        pl.col("weight").round(2),
        "status",
    )
