"""``keel idea`` and ``keel report regimes`` on a lake with research results: moves are
recorded, failing gates are named with their gap, overrides get a small cap, and the regime
report lands in the lake with the portfolio's headline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.resources import KeelResource
from lake import catalog
from lake.ideas import IdeaBook
from lake.store import Lake
from orchestration.cli import main
from orchestration.definitions import build_definitions
from tests.orchestration.ideas_fixtures import seed_research
from trading.config import load_config


@pytest.fixture(autouse=True)
def _own_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))


@pytest.fixture
def lake() -> Lake:
    lake = Lake()  # $KEEL_LAKE, a temporary folder for every test
    seed_research(lake)
    return lake


def _add(name: str, *extra: str) -> int:
    return main(["idea", "add", name, "--hypothesis", f"{name} works", *extra])


def test_a_passing_idea_reaches_paper_and_the_trading_run_sees_it(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("trend", "--tag", "momentum", "--source", "built-in") == 0

    code = main(["idea", "promote", "trend", "--to", "paper", "--no-research"])

    out = capsys.readouterr().out
    assert code == 0
    assert "idea → research: testable: a strategy names it" in out
    assert "research → paper: gate passed, capital cap 10,000" in out
    assert "trend is now in paper (the next trading run trades it)" in out
    deployed = IdeaBook(lake).deployments()
    assert [(d.strategy, d.stage, d.capital) for d in deployed] == [("trend", "paper", 10_000.0)]


def test_a_failing_gate_is_named_with_its_gap_and_the_idea_waits_in_research(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    _add("mean_reversion")

    code = main(["idea", "promote", "mean_reversion", "--to", "paper", "--no-research"])

    out = capsys.readouterr().out
    assert code == 1
    assert "mean_reversion stays in research: cannot reach paper" in out
    assert "gate fails: oos_sharpe" in out
    assert "(short by" in out
    assert IdeaBook(lake).stage("mean_reversion") == ("research", 2)


def test_an_override_trades_a_failing_idea_with_the_override_cap(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    _add("mean_reversion")

    code = main(
        [
            "idea",
            "promote",
            "mean_reversion",
            "--to",
            "paper",
            "--no-research",
            "--override",
            "learn its costs",
            "--capital",
            "50000",
        ]
    )

    assert code == 0
    moves = IdeaBook(lake).transitions().sort("seq")
    last = moves.row(-1, named=True)
    assert last["override"] is True
    assert last["capital"] == 1_000.0
    assert last["reason"].startswith("override: learn its costs; failing: oos_sharpe")


def test_an_idea_without_a_model_stays_an_idea(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    _add("weekend_effect")

    assert main(["idea", "promote", "weekend_effect", "--to", "research"]) == 1

    assert "missing: no registered strategy names this idea" in capsys.readouterr().out


def test_list_show_and_retire(lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    _add("trend")
    _add("weekend_effect", "--link", "https://example.org/note")
    main(["idea", "retire", "weekend_effect", "--reason", "no edge after costs"])
    capsys.readouterr()

    main(["idea", "list"])
    listing = capsys.readouterr().out
    main(["idea", "show", "weekend_effect"])
    shown = capsys.readouterr().out

    assert "idea: 1  research: 0  paper: 0  live: 0  retired: 1" in listing
    assert "weekend_effect" in listing
    assert "https://example.org/note" in shown
    assert "no edge after costs" in shown
    assert main(["idea", "promote", "weekend_effect", "--to", "research"]) == 2
    assert "stays retired" in capsys.readouterr().out


def test_unknown_idea_and_duplicate_name_answer_without_traceback(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    _add("trend")

    assert _add("trend") == 2
    assert main(["idea", "show", "nope"]) == 2

    out = capsys.readouterr().out
    assert "idea 'trend' exists already" in out
    assert "no idea named 'nope'" in out


def test_regime_report_writes_the_tables_and_prints_the_headline(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    _add("trend")
    main(["idea", "promote", "trend", "--to", "paper", "--no-research"])
    capsys.readouterr()

    assert main(["report", "regimes", "--strategy", "trend", "--strategy", "nope"]) == 0

    out = capsys.readouterr().out
    assert "a year over BTC in bad regimes" in out
    assert "PORTFOLIO: per regime, value [90% intervals]" in out
    assert "trend: per regime" in out
    assert "'nope' is not in the regime report" in out
    report = lake.scan(catalog.regime_report()).collect()
    assert set(report["strategy"]) == {"trend", "mean_reversion", "basis", "PORTFOLIO", "BTC"}
    labels = lake.scan(catalog.regime_labels()).collect()
    assert labels.height == 120 * 24
    assert {"bull", "bear"} <= set(labels["regime"])
    weights = lake.scan(catalog.portfolio_weights()).collect()
    assert set(weights["strategy"]) == {"trend"}
    assert weights["weight"].max() == pytest.approx(0.25)  # one strategy, capped
    equity = lake.scan(catalog.portfolio_equity()).collect()
    assert set(equity["series"]) == {"portfolio", "sum_of_parts"}
    btc = report.filter(pl.col("strategy") == "BTC", pl.col("regime") == "all")
    assert btc["excess_return"][0] == pytest.approx(0.0, abs=1e-12)


def test_regime_report_before_any_research_says_what_to_run(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "regimes"]) == 1

    assert "no research results yet" in capsys.readouterr().out


def test_ideas_and_portfolio_assets_show_counts_headline_and_next_ideas(lake: Lake) -> None:
    _add("trend")
    _add("basis")
    _add("weekend_effect")
    main(["idea", "promote", "trend", "--to", "paper", "--no-research"])
    keel = KeelResource(lake_root=lake.root)
    definitions = build_definitions(load_config(), "", keel)
    selected = [
        definitions.get_assets_def(AssetKey(["ideas", "pipeline"])),
        definitions.get_assets_def(AssetKey(["portfolio", "allocation"])),
    ]

    result = materialize(selected, resources={"keel": keel}, instance=DagsterInstance.ephemeral())

    assert result.success
    meta: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization: Any = event.event_specific_data.materialization  # type: ignore[union-attr]
        meta[materialization.asset_key.path[-1]] = {
            k: v.value for k, v in materialization.metadata.items()
        }
    assert meta["pipeline"]["in_idea"] == 2
    assert meta["pipeline"]["in_paper"] == 1
    assert "weekend_effect" in meta["pipeline"]["history"]
    assert "a year over BTC in bad regimes" in meta["regime_report"]["headline"]
    assert "🟩" in meta["regime_report"]["chart"]  # BTC rises in the first half
    work_on_next = meta["diversity"]["work_on_next"]
    assert "basis" in work_on_next
    assert "mean_reversion" in work_on_next
    assert meta["allocation"]["members"] == 1


def test_demo_seeds_ten_ideas_at_different_stages_once(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration.demo_ideas import SEEDS, seed_ideas

    seed_ideas()
    seed_ideas()  # a second make demo leaves them as they are

    pipeline = IdeaBook(lake).pipeline()
    assert pipeline.height == len(SEEDS) == 10
    stages = dict(zip(pipeline["name"], pipeline["stage"], strict=True))
    assert stages["trend"] == "paper"  # passes the gates on the fixture's research
    assert stages["mean_reversion"] == "research"  # fails them, no override for it
    assert stages["xs_momentum"] == "research"  # no research result in the fixture
    assert stages["weekend_effect"] == "idea"
    assert stages["stablecoin_mints"] == "retired"
    assert "gate fails: oos_sharpe" in capsys.readouterr().out
