"""The shortfall fed back: paper fills calibrate ``live/cost_calibration``, research prices with
the newest version (and records it), and a journal with nothing to teach leaves it alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from assets.live_costs import calibrate_costs, research_costs
from assets.live_run import replay
from lake import catalog
from lake.live import cost_calibration_table, live_table, read_calibration
from lake.store import Lake
from tests.live.helpers import live_config, paper_setup, seed_lake
from trading.backtest.setup import venue_costs
from trading.config import KeelConfig, parse_config
from trading.costs import VenueCosts
from trading.live.calibration import CostCalibrationConfig, calibrate
from trading.live.order_fills import per_order

NOW = datetime(2024, 3, 5, tzinfo=UTC)


def _with_calibration(config: KeelConfig, tmp: Path, **calibration: object) -> KeelConfig:
    raw = config.model_dump(mode="json", exclude_unset=True)
    raw.setdefault("research", {})["calibration"] = calibration
    return parse_config(raw, tmp / "keel.toml")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeelConfig, Lake, Lake]:
    """Twelve bars paper-traded by the test strategies: a journal with real paper fills."""
    tmp = tmp_path_factory.mktemp("replayed")
    config = live_config(tmp)
    lake = Lake(tmp / "lake")
    bars = seed_lake(config, lake)
    setup, clock = paper_setup(config, lake, tmp, bars[24])
    replay(setup, bars[24:36], clock)
    return config, lake, setup.journal_lake


def test_paper_fills_write_a_calibration_that_research_then_prices_with(
    replayed: tuple[KeelConfig, Lake, Lake], tmp_path: Path
) -> None:
    config, lake, journal_lake = replayed
    config = _with_calibration(config, tmp_path, min_fills=5, prior_fills=10.0, accounts=["paper"])
    candles = lake.scan(catalog.candles("1h")).collect()
    lake = Lake(tmp_path / "lake")  # a lake of its own: the module's stays uncalibrated
    lake.upsert(catalog.candles("1h"), candles)
    orders = journal_lake.scan(live_table("orders")).collect()
    every_fill = journal_lake.scan(live_table("fills")).collect()
    taker_orders = per_order(every_fill, orders).filter(
        pl.col("account") == "paper", pl.col("style") == "taker"
    )
    assert taker_orders.height >= 5

    done = calibrate_costs(config, lake, journal_lake, NOW)

    assert done.written
    assert done.note == "v1 written"
    stored = read_calibration(lake)
    assert stored.height == 2 * 3  # two venues × (all, buy, sell)
    every = stored.filter(pl.col("side") == "all").sort("venue")
    assert every["fills"].sum() == taker_orders.height
    version, expected = (
        1,
        {
            r["venue"]: (r["used_half_spread_bps"], r["used_impact_k"])
            for r in every.iter_rows(named=True)
        },
    )
    source = research_costs(lake, config)
    assert (source.version, source.calibrated) == (version, expected)
    fitted = every.filter(pl.col("fills") >= 5)
    assert fitted.height >= 1
    assert (fitted["weight"] > 0).all()
    # research's costs move to the calibrated values; fees stay the venue's
    before, after = venue_costs(config), venue_costs(config, source.calibrated)
    for venue, (spread, k) in expected.items():
        assert (after[venue].half_spread_bps, after[venue].impact_k) == (spread, k)
        assert after[venue].taker_fee == before[venue].taker_fee
    params = json.loads(source.params(config))
    assert {v["source"] for v in params.values()} == {"calibration v1"}

    again = calibrate_costs(config, lake, journal_lake, NOW)
    assert not again.written
    assert again.note == "no new fills since v1"
    assert read_calibration(lake).height == stored.height

    off = _with_calibration(config, tmp_path, enabled=False)
    assert research_costs(lake, off).version is None
    assert research_costs(lake, off).calibrated == {}


def test_research_records_the_calibration_version_it_priced_with(
    replayed: tuple[KeelConfig, Lake, Lake], tmp_path: Path
) -> None:
    from assets.research_run import load_market, run_research

    config, lake, _ = replayed
    # the shrinkage is read time's: with prior_fills 0 the fit is used alone
    config = _with_calibration(config, tmp_path, prior_fills=0.0)
    rows = calibrate(
        _synthetic_obs(),
        {"sim_a": VenueCosts(0.0002, 0.0005, 1.0, 0.5), "sim_b": VenueCosts(0.0, 0.0, 1.0, 0.5)},
        CostCalibrationConfig(min_fills=30, prior_fills=0.0),
        7,
        NOW,
    )
    lake.upsert(cost_calibration_table(), rows)
    try:
        _, _, market = load_market(lake, config)
        spreads = dict(zip(market.instruments, market.costs.half_spread_bps, strict=True))
        assert spreads[("sim_a", "BTC/USDT")] == pytest.approx(4.0)  # fitted (prior weight 0)
        assert spreads[("sim_b", "BTC/USDT")] == 1.0  # no fills: the prior
        out = run_research(lake, config, ["trend"], "cal-run", None)
        assert out.rows
        assert out.rows[0]["cost_calibration"] == 7
        params = json.loads(out.rows[0]["cost_params"])
        assert params["sim_a"]["half_spread_bps"] == pytest.approx(4.0)
        assert params["sim_a"]["source"] == "calibration v7"

        off = _with_calibration(config, tmp_path, enabled=False)
        _, _, plain = load_market(lake, off)
        assert set(plain.costs.half_spread_bps.tolist()) == {1.0}
        out = run_research(lake, off, ["trend"], "cal-off", None)
        assert out.rows[0]["cost_calibration"] is None
    finally:
        import shutil

        shutil.rmtree(lake.uri(cost_calibration_table()))


def _synthetic_obs() -> pl.DataFrame:
    n = 40
    return pl.DataFrame(
        {
            "venue": ["sim_a"] * n,
            "side": ["buy"] * n,
            "style": ["taker"] * n,
            "ts": [NOW] * n,
            "notional": [1_000.0] * n,
            "fee_bps": [5.0] * n,
            "slippage_bps": [4.0 + 0.5 * (i % 5) for i in range(n)],
            "impact_x": [1e-4 * (i % 5) for i in range(n)],
        }
    )


def test_an_empty_or_unreadable_journal_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    from tests.conftest import small_config_dict

    config = parse_config(small_config_dict(), tmp_path / "keel.toml")
    lake = Lake(tmp_path / "lake")

    empty = calibrate_costs(config, lake, Lake(tmp_path / "empty"), NOW)
    assert not empty.written
    assert empty.note == "no Keel live fills: unchanged"
    assert not lake.exists(cost_calibration_table())

    rows = calibrate(
        _synthetic_obs(),
        {"sim_a": VenueCosts(0.0002, 0.0005), "sim_b": VenueCosts(0.0002, 0.0005)},
        CostCalibrationConfig(),
        1,
        NOW,
    )
    lake.upsert(cost_calibration_table(), rows)
    before = read_calibration(lake).sort("venue", "side")

    broken = Lake(tmp_path / "broken")
    fills = broken.uri(live_table("fills"))
    (Path(fills) / "_delta_log").mkdir(parents=True)
    (Path(fills) / "_delta_log" / "00000000000000000000.json").write_text('{"commitInfo": {')
    bad = calibrate_costs(config, lake, broken, NOW)

    assert not bad.written
    assert bad.note.startswith("journal not readable")
    assert read_calibration(lake).sort("venue", "side").equals(before)
    assert research_costs(lake, config).version == 1


class _NoReads:
    """A lake that fails any read: what was read once must not be read again."""

    def __init__(self, lake: Lake | None = None) -> None:
        self.lake = lake
        self.upserts = 0

    def scan(self, *_: object, **__: object) -> object:
        raise AssertionError("read again")

    def exists(self, *_: object) -> bool:
        raise AssertionError("read again")

    def upsert(self, spec: object, rows: pl.DataFrame) -> None:
        assert self.lake is not None
        self.upserts += 1
        self.lake.upsert(spec, rows)  # type: ignore[arg-type]


def test_the_shortfall_and_the_calibration_share_one_read_of_journal_candles_and_table(
    replayed: tuple[KeelConfig, Lake, Lake], tmp_path: Path
) -> None:
    from assets.live import shortfall_table
    from assets.live_costs import read_feedback

    config, lake, journal_lake = replayed
    config = _with_calibration(config, tmp_path, min_fills=5, prior_fills=10.0, accounts=["paper"])
    own = Lake(tmp_path / "lake")
    own.upsert(catalog.candles("1h"), lake.scan(catalog.candles("1h")).collect())
    fed = read_feedback(config, own, journal_lake)
    assert fed.filled["adv"].is_not_null().all()  # every order has the liquidity at its fill

    table = shortfall_table(config, _NoReads(), _NoReads(), fed)  # type: ignore[arg-type]
    writer = _NoReads(own)
    done = calibrate_costs(config, writer, _NoReads(), NOW, fed)

    assert table.height > 0
    # each order's notional is split among its strategies: the whole is every order's
    assert table["notional"].sum() == pytest.approx(fed.filled["notional"].sum())
    assert done.written
    assert writer.upserts == 1
    stored = read_calibration(own).sort("venue", "side")
    assert done.current.sort("venue", "side").equals(stored)
