"""kill -9 at random points of a CLI backfill, then a rerun on the same Dagster instance: the
rerun must start (the dead run's pool slot is freed), complete, and leave the table equal to a
clean run's: no row lost, none duplicated, no file left that no version references.

``KEEL_FAULT_TRIALS`` sets the number of kills (10 by default, as in CI); the ``faults_long``
test repeats the campaign at 40 kills: ``pytest -m faults_long tests/faults``.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from lake import catalog
from lake.maintenance import stray_files
from lake.store import Lake
from orchestration.cli import main

PROJECT = Path(__file__).resolve().parents[2]
SPEC = catalog.candles("1h")
CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]
funding_rates = false

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
"""
MAX_DELAY_S = 6.0  # a loaded machine slows the first run; kills must still land mid-run
WATCHDOG_S = 300  # before the fix, a rerun behind a dead run's slot waited forever
BACKFILL = ["backfill", "--start", "2024-02-01", "--end", "2024-02-29", "--dataset", "candles_1h"]


@dataclass
class Campaign:
    """What the kills did, for the report in docs/reliability.md."""

    trials: int = 0
    killed_mid_run: int = 0
    reruns_failed: int = 0
    rows_lost: int = 0
    duplicates: int = 0
    stray_files: int = 0
    dead_runs_reaped: int = 0
    rerun_s: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Env:
    """One Dagster instance (the project's dagster.yaml) and a lake per trial. Victims run as
    subprocesses (to be killed); reruns run in this process, through the same ``keel`` entry
    point, so imports are paid once and a trial costs about one backfill."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        home = root / "home"
        home.mkdir()
        shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
        (root / "keel.toml").write_text(CONFIG)
        settings = {
            "DAGSTER_HOME": str(home),
            "KEEL_DAGSTER_STORAGE": str(home / "storage"),
            "KEEL_CONFIG": str(root / "keel.toml"),
            "KEEL_SIM_STATE": str(root / "sim"),
            "KEEL_GE_ROOT": str(root / "ge"),
            "KEEL_POOL_WAIT": "60",
        }
        for key, value in settings.items():
            monkeypatch.setenv(key, value)

    def lake(self, name: str) -> Lake:
        path = self.root / name
        path.mkdir(exist_ok=True)
        self.monkeypatch.setenv("KEEL_LAKE", str(path))
        return Lake(path)

    def victim(self) -> subprocess.Popen[str]:
        """A backfill in its own process, returned once it has loaded everything and is about
        to start its run (it prints the selection first)."""
        child = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", *BACKFILL],
            cwd=PROJECT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("backfill "), line
        return child

    def rerun(self) -> tuple[int, str]:
        """``keel backfill`` in this process, with a watchdog: a rerun stuck behind a dead
        run's slot would otherwise wait forever."""
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(BACKFILL)
        return code, buffer.getvalue()


def _wait_for_a_claimed_slot(victim: subprocess.Popen[str]) -> None:
    from dagster import DagsterInstance

    storage = DagsterInstance.get().event_log_storage
    while victim.poll() is None:
        if any(
            storage.get_concurrency_info(k).claimed_slots for k in storage.get_concurrency_keys()
        ):
            return
        time.sleep(0.05)


def _content(lake: Lake) -> pl.DataFrame:
    return lake.scan(SPEC).collect().sort("venue", "symbol", "ts")


def run_campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trials: int, seed: int = 14
) -> Campaign:
    env = Env(tmp_path, monkeypatch)
    rng = random.Random(seed)
    clean = env.lake("clean")
    code, out = env.rerun()
    assert code == 0, out
    run_s = float(re.search(r" ok in ([0-9.]+)s", out).group(1))  # type: ignore[union-attr]
    reference = _content(clean)
    campaign = Campaign()
    for trial in range(trials):
        lake = env.lake(f"trial{trial}")
        victim = env.victim()
        if trial % 2 == 0:  # the worst moment: the run holds its pool slot and is writing
            _wait_for_a_claimed_slot(victim)
            time.sleep(rng.uniform(0.0, 1.0))
        else:  # anywhere in the run
            time.sleep(rng.uniform(0.0, min(run_s, MAX_DELAY_S)))
        alive = victim.poll() is None
        victim.kill()
        victim.wait()
        assert victim.stdout is not None
        victim.stdout.close()  # an orphaned tail of the victim may still hold the pipe open
        campaign.trials += 1
        campaign.killed_mid_run += int(alive)
        began = time.monotonic()
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)  # a hang fails loudly
        try:
            code, out = env.rerun()
        finally:
            faulthandler.cancel_dump_traceback_later()
        campaign.rerun_s.append(round(time.monotonic() - began, 1))
        campaign.dead_runs_reaped += out.count("died with its process")
        if code != 0:
            campaign.reruns_failed += 1
            campaign.notes.append(f"trial {trial}: rerun failed\n{out[-2000:]}")
            continue
        got = _content(lake)
        campaign.duplicates += got.height - got.unique(["venue", "symbol", "ts"]).height
        campaign.rows_lost += reference.join(got, on=["venue", "symbol", "ts"], how="anti").height
        if not got.equals(reference):
            campaign.notes.append(f"trial {trial}: content differs from the clean run")
        campaign.stray_files += len(stray_files(lake, SPEC, grace_seconds=0))
    print(f"\nkill -9 campaign ({trials} trials, a clean run {run_s:.1f}s): {campaign}")
    return campaign


def _assert_clean(campaign: Campaign, trials: int) -> None:
    assert campaign.notes == []
    assert (campaign.trials, campaign.reruns_failed) == (trials, 0)
    assert (campaign.rows_lost, campaign.duplicates) == (0, 0)


def test_kill_9_mid_backfill_then_rerun_completes_and_equals_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials = int(os.environ.get("KEEL_FAULT_TRIALS") or 10)

    campaign = run_campaign(tmp_path, monkeypatch, trials)

    _assert_clean(campaign, trials)
    assert campaign.dead_runs_reaped >= 1  # some kills landed while the run held its slot


@pytest.mark.faults_long
def test_kill_9_campaign_of_40_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = run_campaign(tmp_path, monkeypatch, 40, seed=1414)

    _assert_clean(campaign, 40)
