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


def research_costs(lake: Any, config: KeelConfig) -> CostSource:
    """The newest calibration when ``[research.calibration] enabled`` and one exists; config's
    spread and impact otherwise."""
    from lake.live import read_calibration
    from trading.live.calibration import calibrated

    if not config.research.calibration.enabled:
        return CostSource()
    version, params = calibrated(read_calibration(lake))
    return CostSource(version, params) if params else CostSource()


def liquidity_before(config: KeelConfig, lake: Any, newest: datetime) -> pl.DataFrame:
    """Per venue and symbol over the 30 days of research bars before ``newest``: ``adv``
    (daily traded value) and ``daily_vol`` (daily return volatility)."""
    from lake import catalog
    from trading.timeframes import timeframe_delta

    timeframe = config.data.research_timeframe
    per_day = timedelta(days=1) / timeframe_delta(timeframe)
    spec = catalog.candles(timeframe)
    if not lake.exists(spec):
        return pl.DataFrame(
            schema={"venue": pl.String, "symbol": pl.String, "adv": pl.Float64,
                    "daily_vol": pl.Float64}
        )  # fmt: skip
    stats: pl.DataFrame = (
        lake.scan(spec)
        .filter(pl.col("ts") >= newest - timedelta(days=30), pl.col("ts") <= newest)
        .sort("venue", "symbol", "ts")
        .group_by("venue", "symbol")
        .agg(
            adv=(pl.col("close") * pl.col("volume")).mean() * per_day,
            daily_vol=pl.col("close").log().diff().std() * per_day**0.5,
        )
        .collect()
    )
    return stats


@dataclass(frozen=True, slots=True)
class Calibration:
    """What one calibration did: the version in use afterwards and its rows, and why nothing
    was written when nothing was."""

    written: bool
    current: pl.DataFrame
    note: str


def calibrate_costs(
    config: KeelConfig, lake: Any, journal_lake: Any, now: datetime | None = None
) -> Calibration:
    """Fit spread and impact per venue from the journal's Keel fills and append them as a new
    version of ``live/cost_calibration``. An empty or unreadable journal, or fills that teach
    nothing new (same counts and window as the newest version), leave the table as it was."""
    from deltalake.exceptions import DeltaError

    from lake.live import cost_calibration_table, live_table, read_calibration
    from trading.backtest.setup import venue_costs
    from trading.live.calibration import calibrate, newest, observations, unchanged

    previous = read_calibration(lake)
    try:
        fills = journal_lake.scan(live_table("fills")).collect()
        orders = journal_lake.scan(live_table("orders")).collect()
    except (OSError, DeltaError, pl.exceptions.PolarsError) as exc:
        # a journal that cannot be read must not touch research's costs
        return Calibration(False, newest(previous), f"journal not readable ({exc}): unchanged")
    accounts = config.research.calibration.accounts
    keel = fills.filter(pl.col("origin") == "keel", pl.col("account").is_in(accounts))
    if keel.is_empty():
        whose = " or ".join(accounts)
        return Calibration(False, newest(previous), f"no Keel {whose} fills: unchanged")
    last = keel["ts"].max()
    assert isinstance(last, datetime)
    obs = observations(keel, orders, liquidity_before(config, lake, last))
    version = int(previous["version"].max()) + 1 if previous.height else 1  # type: ignore[arg-type]
    rows = calibrate(
        obs, venue_costs(config), config.research.calibration, version, now or datetime.now(UTC)
    )
    if rows.is_empty():
        return Calibration(False, newest(previous), "no taker fill with a decision price")
    if unchanged(previous, rows):
        return Calibration(False, newest(previous), f"no new fills since v{version - 1}")
    lake.upsert(cost_calibration_table(), rows)
    return Calibration(True, rows, f"v{version} written")


def calibration_view(rows: pl.DataFrame) -> pl.DataFrame:
    """The table shown in the asset's metadata and ``keel costs``: venue, fills, prior,
    fitted and used half spread (bps) and impact factor, research's row (all sides) first."""
    if rows.is_empty():
        return pl.DataFrame()
    return rows.sort(pl.col("side") != "all", "venue", "side").select(
        "version",
        "venue",
        "side",
        pl.col("fills").alias("n fills"),
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
