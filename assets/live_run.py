"""Assembling a trading run from the config, the lake and the venues: what the Dagster trading
asset, the paper replay and the latency bench all call, so they run the same code."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from lake.live import LakeJournal, Window, read_bar
from lake.store import Lake
from trading.config import KeelConfig
from trading.live.buffered import BufferedJournal
from trading.live.config import TRADING_STAGES, Deployment, Stage, deployments
from trading.live.decide import resolve
from trading.live.journal import Journal
from trading.live.run import Account, RunParts, RunReport, TradingRun
from trading.timeframes import timeframe_delta, utc_now
from trading.venues.base import Venue


@dataclass(slots=True)
class SimClock:
    """A clock the replay moves: bar by bar, as fast as the machine allows."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(slots=True)
class Setup:
    """Where a run reads and writes: features from ``lake``, journal in ``journal_lake``."""

    config: KeelConfig
    lake: Lake
    journal_lake: Lake
    state_dir: Path
    clock: Callable[[], datetime] = utc_now
    live_venue: Callable[[str], Venue] | None = None
    stages: tuple[Stage, ...] = TRADING_STAGES
    paper_only: bool = False  # a replay trades every stage on paper accounts
    sleep: Callable[[float], None] = time.sleep
    strategies: tuple[Deployment, ...] | None = None
    journal: Journal | None = None  # default: the journal lake's live/* tables
    window: Window | None = None  # a replay's bars, read once (``lake.live.read_window``)
    _accounts: dict[tuple[str, str], Account] = field(default_factory=dict)

    def deployments(self) -> list[Deployment]:
        """Strategies to trade: the config's (or the override's) in the chosen stages, and
        those the ideas pipeline promoted to them (``assets.live_ideas.promoted``); once the
        portfolio has weights, each capped at weight × the portfolio's capital."""
        if self.strategies is not None:
            chosen = list(self.strategies)
        else:
            from assets.live_ideas import newest_weights, promoted, sized

            ts, weights = newest_weights(self.lake)
            capital = self.config.portfolio.capital if ts is not None else None
            chosen = deployments(self.config.live, self.stages)
            configured = {d.strategy for d in chosen}
            if capital is not None:
                chosen = sized(chosen, weights, capital)
            chosen += promoted(self.lake, self.stages, configured, capital)
        if self.paper_only:
            chosen = [d.model_copy(update={"stage": "paper"}) for d in chosen]
        return chosen

    def capital_source(self) -> str:
        """What sized the strategies: the newest portfolio weights, or the config's caps."""
        from assets.live_ideas import capital_source, newest_weights

        if self.strategies is not None:
            return "strategies given to the run"
        ts, _ = newest_weights(self.lake)
        return capital_source(ts, self.config.portfolio.capital)

    def accounts(self) -> dict[tuple[str, str], Account]:
        """Venues built once per setup (a ccxt venue loads its markets once)."""
        if not self._accounts:
            from trading.live.accounts import build_accounts

            stages = tuple(sorted({d.stage for d in self.deployments()}))
            self._accounts = build_accounts(
                self.config,
                self.state_dir,
                self.clock,
                self._live_venue,
                stages,  # type: ignore[arg-type]
            )
        return self._accounts

    def the_journal(self) -> Journal:
        """The journal, opened once per set-up (it caches tables between runs)."""
        if self.journal is None:
            self.journal = LakeJournal(self.journal_lake)
        return self.journal

    def _live_venue(self, name: str) -> Venue:
        if self.live_venue is None:
            raise ValueError(f"no live venue for {name}: this run trades paper accounts only")
        return self.live_venue(name)


def run_bar(setup: Setup, run_id: str, bar: datetime, failing: tuple[str, ...] = ()) -> RunReport:
    """One trading run of ``bar``: the same code for Dagster, replay and bench."""
    config = setup.config
    timeframe = config.data.research_timeframe
    data = read_bar(setup.lake, timeframe, bar, failing, setup.window)
    parts = RunParts(
        journal=setup.the_journal(),
        accounts=setup.accounts(),
        deployed=resolve(setup.deployments()),
        bar_length=timeframe_delta(timeframe),
        stale_bars=config.live.stale_bars,
        lookups=config.live.lookups,
        risk=config.risk,
        routing=config.routing,
        clock=setup.clock,
        sleep=setup.sleep,
        caps={v.name: v.caps for v in config.venues},
    )
    return TradingRun(run_id, data, parts).execute()


def replay(setup: Setup, bars: list[datetime], clock: SimClock) -> list[RunReport]:
    """Paper trading over past bars on a simulated clock: each bar is run the moment it
    closes, with the same run logic as live (``run_bar``). A buffered journal (the replay's
    own, ``orchestration.replay_report``) is written once at the end, even when a bar fails."""
    step = timeframe_delta(setup.config.data.research_timeframe)
    reports = []
    try:
        for bar in bars:
            clock.now = bar + step + timedelta(seconds=1)
            reports.append(run_bar(setup, f"replay-{bar:%Y%m%dT%H%M}", bar))
    finally:
        if isinstance(setup.journal, BufferedJournal):
            setup.journal.flush()
    return reports
