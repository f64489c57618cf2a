"""Execution latency: filling at the next bar's open (``Settings.fill = "open"``), against the
per-bar reference account and on cases worked by hand."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.configs import one_sim_venue
from tests.trading.backtest_reference import REWARDING, reference_equity
from tests.trading.markets import FREE, X_ON_THREE_Y_ON_ONE, random_market, simple_market
from trading.backtest.engine import Market, Settings, run
from trading.config import ConfigError, parse_config
from trading.execution.config import RoutingConfig


def _daily(close: list[float], open_: list[float], fee: float = 0.0) -> Market:
    """One instrument's daily bars with their opens, free but for a taker fee."""
    return simple_market(
        [[c] for c in close],
        open_=[[o] for o in open_],
        volume=1e9,
        costs=replace(FREE, taker_fee=fee),
    )


def test_fill_at_the_open_holds_the_old_position_until_the_open() -> None:
    # Decided at the close of bar 1 (100); bar 2 opens at 105 and closes at 110.
    market = _daily([100.0, 100.0, 110.0, 110.0], [100.0, 100.0, 105.0, 110.0])
    weights = np.array([[0.0], [1.0], [1.0], [1.0]])

    at_close = run(market, weights)
    at_open = run(market, weights, Settings(fill="open"))

    assert at_close.equity[2] == pytest.approx(1.10)  # bought at 100
    assert at_open.equity[2] == pytest.approx(110 / 105)  # bought at the open, 105
    assert at_open.positions[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_the_position_held_until_the_open_earns_the_overnight_move() -> None:
    # Long from bar 1; told to go flat at the close of bar 2 (110); bar 3 opens at 99.
    market = _daily([100.0, 100.0, 110.0, 90.0], [100.0, 100.0, 100.0, 99.0])
    weights = np.array([[1.0], [1.0], [0.0], [0.0]])

    at_open = run(market, weights, Settings(fill="open"))

    # bar 2: bought at its open 100 → 110; bar 3: held to the open 99, then flat
    assert at_open.equity[2] == pytest.approx(1.10)
    assert at_open.net[3] == pytest.approx(99 / 110 - 1)
    assert at_open.positions[3, 0] == 0.0


def test_delay_bars_move_the_open_fill_later_still() -> None:
    market = _daily([100.0, 100.0, 100.0, 120.0, 120.0], [100.0, 100.0, 100.0, 110.0, 120.0])
    weights = np.array([[0.0], [1.0], [0.0], [0.0], [0.0]])

    later = run(market, weights, Settings(fill="open", delay=1))

    assert later.positions[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert later.equity[-1] == pytest.approx(120 / 110)


def test_perfect_one_bar_foresight_earns_less_when_filled_at_the_open() -> None:
    rng = np.random.default_rng(5)
    bars = 400
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, bars)))
    # Half of each bar's move happens between the previous close and the open.
    open_ = np.concatenate([[close[0]], np.sqrt(close[:-1] * close[1:])])
    market = _daily(close.tolist(), open_.tolist(), fee=0.0005)
    # At the close of bar t, bar t+1's direction is known: the perfect one-bar forecast.
    foresight = np.zeros((bars, 1))
    foresight[:-1, 0] = np.sign(close[1:] - close[:-1])

    at_close = run(market, foresight).equity[-1]
    at_open = run(market, foresight, Settings(fill="open")).equity[-1]

    assert at_close > 1.0
    assert at_open < at_close


@pytest.mark.parametrize("fill", ["close", "open"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_engine_matches_the_per_bar_account_for_both_fills(seed: int, fill: str) -> None:
    market = random_market(seed, with_open=True)
    rng = np.random.default_rng(100 + seed)
    weights = np.clip(rng.normal(0, 0.4, market.close.shape), -1, 1)
    weights[rng.random(weights.shape) < 0.02] = np.nan
    settings = Settings(
        capital=50_000.0,
        style=("taker", "taker", "maker", "auto")[seed],  # type: ignore[arg-type]
        delay=seed % 2,
        band=0.02 * (seed % 3),
        fill="open" if fill == "open" else "close",
        routing=REWARDING if seed == 3 else RoutingConfig(),
    )

    fast = run(market, weights, settings).equity

    np.testing.assert_allclose(fast, reference_equity(market, weights, settings), rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_venue_neutral_targets_filled_at_the_open_match_the_per_bar_account(seed: int) -> None:
    market = random_market(seed, instruments=X_ON_THREE_Y_ON_ONE, with_open=True)
    rng = np.random.default_rng(200 + seed)
    groups = np.array([[0, 1, 2], [3, -1, -1]], dtype=np.int64)
    weights = np.clip(rng.normal(0, 0.5, (market.close.shape[0], 2)), -1, 1)
    settings = Settings(
        capital=2e5,
        band=0.01 * seed,
        fill="open",
        style="auto" if seed else "taker",
        routing=REWARDING if seed else RoutingConfig(),
    )

    fast = run(market, weights, settings, groups).equity

    slow = reference_equity(market, weights, settings, groups)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)


def test_filling_at_the_open_without_opens_says_what_is_missing() -> None:
    market = replace(_daily([100.0, 100.0], [100.0, 100.0]), open=None)

    with pytest.raises(ValueError, match="needs open prices"):
        run(market, np.ones((2, 1)), Settings(fill="open"))


def _config(fill: str) -> str:
    return one_sim_venue(["BTC/USDT"], f'[research]\nexecution_fill = "{fill}"\n')


def test_execution_fill_comes_from_config(tmp_path: Path) -> None:
    from trading.backtest.setup import settings

    config = parse_config(tomllib.loads(_config("open")), tmp_path / "keel.toml")

    assert settings(config).fill == "open"


def test_an_unknown_execution_fill_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"execution_fill.*'close' or 'open'"):
        parse_config(tomllib.loads(_config("vwap")), tmp_path / "keel.toml")
