"""`keel trade` and `keel portfolio`: one Dagster run each, on the shared instance, so what the
CLI does shows in the web UI exactly as the sensor's and the schedule's runs do."""

from __future__ import annotations


def trade() -> bool:
    """One run of the trading job for the feature table's newest bar, as the sensor launches it
    (the run refuses to trade a bar twice, so repeating the command is harmless)."""
    from assets.live import BAR_TAG
    from assets.resources import KeelResource
    from jobs.trading import TRADING_JOB
    from lake.live import newest_bar

    keel = KeelResource()
    bar = newest_bar(keel.lake(), keel.config().data.research_timeframe)
    if bar is None:
        print("trade: the feature table has no rows yet; run `keel demo` or a features backfill")
        return False
    from orchestration.cli import _definitions, _execute

    job = _definitions().resolve_job_def(TRADING_JOB)
    return _execute(f"trading run for bar {bar.isoformat()}", job, {BAR_TAG: bar.isoformat()})


def portfolio() -> bool:
    """Recompute the ideas pipeline, the allocation, the regime report and diversity as one
    Dagster run, so the UI shows what the CLI printed."""
    from jobs.portfolio import PORTFOLIO_JOB
    from orchestration.cli import _definitions, _execute

    return _execute("portfolio", _definitions().resolve_job_def(PORTFOLIO_JOB))
