"""The trading run feeds the ideas pipeline: parity rows per run, paper evidence for the
paper → live gate, automatic demotion of live strategies past their limits, and strategies
sized by the portfolio's weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from assets.live import shortfall_table
from assets.live_close import close_run
from assets.live_run import run_bar
from lake import catalog
from lake.ideas import IdeaBook
from lake.live import live_table
from lake.paper_evidence import stage_evidence
from lake.store import Lake
from tests.live.helpers import START, live_config, paper_setup, seed_lake
from trading.ideas.gates import IdeasConfig, PaperGate
from trading.ideas.pipeline import Idea, new_idea, promote
from trading.ideas.stages import Move

AT = START - timedelta(days=1)


def _book(lake: Lake, stage: str, name: str = "tsmom", strategy: str = "trend") -> IdeaBook:
    book = IdeaBook(lake)
    book.add(*new_idea(Idea(name, "works", strategy=strategy), AT))
    moves = [
        Move(name, 1, AT, "idea", "research", "testable"),
        Move(name, 2, AT, "research", "paper", "gate passed", capital=5_000.0),
    ]
    if stage == "live":
        moves.append(Move(name, 3, AT, "paper", "live", "gate passed", capital=5_000.0))
    book.record(moves)
    return book


def test_paper_strategy_trading_accumulates_evidence_that_the_live_gate_judges(
    tmp_path: Path,
) -> None:
    config = live_config(tmp_path, strategies=[])
    lake = Lake(tmp_path / "lake")
    bars = seed_lake(config, lake, days=1)
    _book(lake, "paper")
    setup, clock = paper_setup(config, lake, tmp_path / "run", bars[0])
    for bar in bars[:4]:
        clock.now = bar + timedelta(hours=1, seconds=1)
        run_bar(setup, f"r-{bar:%H}", bar)
        close_run(setup, f"r-{bar:%H}")
    parity = setup.journal_lake.scan(live_table("parity")).collect().sort("run_id")
    shortfall = shortfall_table(config, lake, setup.journal_lake)

    found = stage_evidence(lake, setup.journal_lake, "tsmom", "paper", clock.now, shortfall)

    assert found is not None
    evidence, fills = found
    assert parity["run_id"].to_list() == ["r-00", "r-01", "r-02", "r-03"]
    assert parity["strategy"].unique().to_list() == ["trend"]
    assert parity["passed"].all()
    assert (parity["differences"] == 0).all()
    assert evidence.parity_passed
    assert fills > 0
    assert abs(evidence.days - (1 + 4 / 24 + 1 / 86_400)) < 1e-9
    assert -1.0 < evidence.max_drawdown <= 0.0
    lenient = IdeasConfig(paper_gate=PaperGate(min_days=1.0, max_shortfall_bps=1_000.0))
    passed = promote("tsmom", "paper", 3, "live", clock.now, lenient, testable=True, paper=evidence)
    assert passed.complete
    assert passed.moves[0].evidence["paper_days"] == evidence.days
    strict = promote(
        "tsmom", "paper", 3, "live", clock.now, IdeasConfig(), testable=True, paper=evidence
    )
    assert [c.name for c in strict.blocked] == ["paper_days"]
    assert abs(strict.blocked[0].gap - (14.0 - evidence.days)) < 1e-9


def test_live_strategy_past_its_shortfall_limit_is_demoted_at_the_end_of_the_run(
    tmp_path: Path,
) -> None:
    config = live_config(tmp_path, strategies=[])
    lake = Lake(tmp_path / "lake")
    bars = seed_lake(config, lake, days=1)
    book = _book(lake, "live")
    _book(lake, "live", name="calm", strategy="mean_reversion")
    setup, _ = paper_setup(config, lake, tmp_path / "run", bars[1])
    shortfall = pl.DataFrame(
        {
            "strategy": ["trend", "mean_reversion"],
            "account": ["live", "live"],
            "venue": ["sim", "sim"],
            "fills": [3, 3],
            "notional": [1_000.0, 1_000.0],
            "realized_bps": [45.0, 5.0],
        }
    )

    closing = close_run(setup, "r1", shortfall)

    assert [m.idea for m in closing.demoted] == ["tsmom"]
    assert closing.demotion_lines() == [
        "tsmom: live → paper, demoted automatically: shortfall_bps 45.00 > 30.00 (over by 15.00)"
    ]
    assert book.stage("tsmom")[0] == "paper"
    assert book.stage("calm")[0] == "live"
    recorded = book.transitions().filter(pl.col("idea") == "tsmom").sort("seq").row(-1, named=True)
    assert '"shortfall_bps": 45.0' in recorded["evidence"]


def test_portfolio_weights_size_each_strategy_and_name_the_capital_source(
    tmp_path: Path,
) -> None:
    config = live_config(tmp_path)  # trend and mean_reversion on paper, xs_momentum live, 20k
    lake = Lake(tmp_path / "lake")
    setup, _ = paper_setup(config, lake, tmp_path / "run", START)
    assert setup.capital_source() == "config caps (no portfolio weights yet)"
    assert {d.strategy: d.capital for d in setup.deployments()}["trend"] == 20_000.0
    ts = datetime(2024, 2, 1, tzinfo=UTC)
    weights = pl.DataFrame(
        {
            "ts": [ts] * 3,
            "strategy": ["trend", "mean_reversion", "xs_momentum"],
            "weight": [0.1, 0.5, 0.0],
            "method": ["hrp"] * 3,
        }
    )
    lake.upsert(catalog.portfolio_weights(), weights)

    deployed = {d.strategy: d.capital for d in setup.deployments()}

    # portfolio capital 100,000: trend 0.1 × 100k = 10k; mean_reversion capped at 20k
    assert deployed == {"trend": 10_000.0, "mean_reversion": 20_000.0}
    assert setup.capital_source() == (
        "portfolio weights of 2024-02-01 00:00 × capital 100,000, capped by stage"
    )
