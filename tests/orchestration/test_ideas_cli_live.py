"""``keel idea promote NAME --to live`` judges the paper → live gate on the idea's paper
evidence from the lake and names the failing checks with their gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from lake.ideas import IdeaBook
from lake.store import Lake
from orchestration.cli import main
from tests.orchestration.ideas_fixtures import seed_research


@pytest.fixture(autouse=True)
def _own_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))


def test_fresh_paper_idea_promoted_to_live_fails_on_days_and_parity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lake = Lake()  # $KEEL_LAKE, a temporary folder for every test
    seed_research(lake)
    main(["idea", "add", "trend", "--hypothesis", "trend works"])
    assert main(["idea", "promote", "trend", "--to", "paper", "--no-research"]) == 0
    capsys.readouterr()

    code = main(["idea", "promote", "trend", "--to", "live"])

    out = capsys.readouterr().out
    assert code == 1
    assert "paper evidence: 0.0 days, parity not passing (or no runs yet)" in out
    assert "shortfall 0.0 bps over 0 fills, drawdown 0.00%" in out
    assert "trend stays in paper: cannot reach live" in out
    assert "gate fails: paper_days 0.00 < 14.00 (short by 14.00)" in out
    assert "gate fails: parity 0.00 < 1.00 (short by 1.00)" in out
    assert "missing" not in out
    assert IdeaBook(lake).stage("trend")[0] == "paper"
