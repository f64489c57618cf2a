"""The trading run in Dagster: one run per bar (reconcile → decide → net → route → risk →
submit → record), its parity check, and the implementation shortfall of its fills.

The bar comes from the run's ``keel/bar`` tag (set by the trading sensor, whose run key is the
bar, so a bar is never traded twice); a run started by hand trades the newest bar.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.features import features_key
from assets.market import MARKET_GROUP
from assets.metadata import frame_md
from assets.paths import sim_state_dir
from assets.resources import KeelResource
from trading.config import KeelConfig

if TYPE_CHECKING:
    from assets.live_costs import Feedback

LIVE_GROUP = "live"
TRADING_RUN = AssetKey([LIVE_GROUP, "trading_run"])
SHORTFALL = AssetKey([LIVE_GROUP, "implementation_shortfall"])
BAR_TAG = "keel/bar"


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """One trading run at a time per state folder. A file lock, not a Dagster pool: the OS
    drops it when a run is killed (a killed run keeps its pool slot forever, DESIGN.md)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "trading.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def setup_for(keel: KeelResource) -> Any:
    """The run's set-up from the resource: lake, venues, state folder."""
    from assets.live_run import Setup

    state = Path(keel.sim_state_dir) if keel.sim_state_dir else sim_state_dir()
    return Setup(keel.config(), keel.lake(), keel.lake(), state, live_venue=keel.venue)


def live_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """The trading run (with its parity check) and the shortfall asset."""
    timeframe = config.data.research_timeframe
    candle_keys = [AssetKey([MARKET_GROUP, v.name, f"candles_{timeframe}"]) for v in config.venues]

    @asset(
        key=TRADING_RUN,
        group_name=LIVE_GROUP,
        deps=[features_key(config)],
        check_specs=[
            AssetCheckSpec(
                "parity",
                asset=TRADING_RUN,
                description="each decision equals research's for the same strategy, bar and "
                "feature version",
            )
        ],
        kinds={"polars", "deltalake"},
        description="One bar of trading: reconcile, decide, net, route, risk, submit, record "
        "(journal in live/*).",
    )
    def trading_run(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult:  # type: ignore[type-arg]
        from assets.checks import failing_blocking_checks
        from assets.live_close import close_run
        from assets.live_run import run_bar
        from lake.live import newest_bar

        setup = setup_for(keel)
        tag = context.run.tags.get(BAR_TAG)
        bar = datetime.fromisoformat(tag) if tag else newest_bar(setup.lake, timeframe)
        if bar is None:
            raise RuntimeError("no feature rows yet: materialize features (make demo) first")
        failing = tuple(failing_blocking_checks(context.instance, candle_keys))
        with run_lock(setup.state_dir):
            report = run_bar(setup, context.run.run_id, bar, failing)
        for line in report.lines():
            context.log.info(line)
        closing = close_run(setup, context.run.run_id)
        diffs, checked = closing.differences, closing.checked
        orders = pl.DataFrame(
            [
                {
                    "account": o.intent.account,
                    "venue": o.intent.venue,
                    "symbol": o.intent.symbol,
                    "side": o.intent.side,
                    "amount": o.intent.amount,
                    "status": o.event,
                    "client_order_id": o.intent.client_order_id,
                    "strategies": o.intent.strategy,
                }
                for o in report.orders
            ]
        )
        denials = pl.DataFrame(report.denials)
        return MaterializeResult(
            metadata={
                "bar": bar.isoformat(),
                "decisions": report.decisions,
                "orders": frame_md(orders),
                "denials": frame_md(denials.select("venue", "symbol", "reason", "detail"))
                if denials.height
                else MetadataValue.text("none"),
                "fills": len(report.fills),
                "refused_venues": MetadataValue.text("\n".join(report.refused) or "none"),
                "trading_states": MetadataValue.text("\n".join(state_lines(setup)) or "none"),
                "notes": MetadataValue.text("\n".join(report.notes) or "none"),
                "capital_source": setup.capital_source(),
                "parity_recorded": frame_md(pl.DataFrame(closing.parity).drop("at", strict=False)),
                "demoted": MetadataValue.text("\n".join(closing.demotion_lines()) or "none"),
            },
            check_results=[
                AssetCheckResult(
                    check_name="parity",
                    passed=diffs.is_empty(),
                    severity=AssetCheckSeverity.ERROR,
                    metadata={
                        "decisions_checked": checked,
                        "differences": diffs.height,
                        "sample": frame_md(diffs, 10),
                    },
                )
            ],
        )

    @asset(
        key=SHORTFALL,
        group_name=LIVE_GROUP,
        deps=[TRADING_RUN],
        kinds={"polars"},
        description="Realized fills against the research cost model's price for the same "
        "order: implementation shortfall in bps per strategy and venue, and the spread and "
        "impact research prices with, calibrated from those fills (live/cost_calibration).",
    )
    def implementation_shortfall(keel: KeelResource) -> MaterializeResult[None]:
        from assets.live_costs import calibrate_costs, calibration_view, read_feedback
        from lake.live import shortfall_table as spec

        config, lake = keel.config(), keel.lake()
        feedback = read_feedback(config, lake, lake)  # one read for both
        table = shortfall_table(config, lake, lake, feedback)
        if table.height:
            lake.replace(spec(), table, "account")
        calibration = calibrate_costs(config, lake, lake, feedback=feedback)
        return MaterializeResult(
            metadata={
                "shortfall": frame_md(table.with_columns(pl.col(pl.Float64).round(2))),
                "fills": int(table["fills"].sum()) if table.height else 0,
                "cost_calibration": frame_md(calibration_view(calibration.current)),
                "calibration": calibration.note,
            }
        )

    return [trading_run, implementation_shortfall]


def state_lines(setup: Any) -> list[str]:
    """Every scope that is not ACTIVE, with when and why (the UI and ``keel states``)."""
    from trading.live.states import TradingStates

    states = TradingStates.from_log(setup.the_journal().read("trading_states"))
    return [
        f"{c.state} {c.scope} {c.target}: {c.reason} ({c.source}, {c.at:%Y-%m-%d %H:%M} UTC)"
        for c in states.non_active()
    ]


def parity_differences(
    journal_lake: Any, lake: Any, timeframe: str, run_id: str
) -> tuple[pl.DataFrame, int]:
    """Differences between a run's decisions and research's, and how many were checked."""
    from lake import catalog
    from lake.live import live_table
    from trading.features.registry import registered_features
    from trading.live.parity import differences, research_targets

    decisions = (
        journal_lake.scan(live_table("decisions")).filter(pl.col("run_id") == run_id).collect()
    )
    if decisions.is_empty():
        return decisions.select("strategy", "venue", "symbol"), 0
    version = int(decisions["features_version"][0])
    bar = decisions["bar"][0]
    spec = catalog.features(timeframe, list(registered_features()))
    features = lake.scan(spec, version=version).collect().sort("venue", "symbol", "ts")
    research = research_targets(features, sorted(set(decisions["strategy"])), [bar])
    return differences(decisions, research), decisions.height


def shortfall_table(
    config: KeelConfig, lake: Any, journal_lake: Any, feedback: "Feedback | None" = None
) -> pl.DataFrame:
    """The shortfall summary over every Keel order in the journal (``feedback``: the
    journal, liquidity and calibration already read by ``read_feedback``)."""
    from assets.live_costs import read_feedback, research_costs
    from trading.backtest.setup import venue_costs
    from trading.costs import VenueCosts
    from trading.live.shortfall import shortfall, summary

    fed = feedback if feedback is not None else read_feedback(config, lake, journal_lake)
    research = venue_costs(config, research_costs(lake, config, fed.calibration).calibrated)
    costs = {  # research's spread and impact (calibrated when it uses that)
        v.name: VenueCosts(
            getattr(v, "maker_fee", 0.0002),
            getattr(v, "taker_fee", 0.0005),
            research[v.name].half_spread_bps,
            research[v.name].impact_k,
        )
        for v in config.venues
    }
    return summary(shortfall(fed.filled, costs, fed.net_targets))
