"""`keel demo`: the whole chain on the embedded simulated venues, as Dagster runs the UI shows."""

from __future__ import annotations

from datetime import date, timedelta


def demo() -> int:
    """Backfill the config's demo window for every dataset, then print the summary."""
    from orchestration.cli import backfill, refresh_instruments, research, summary
    from trading.config import load_config

    config = load_config()
    today = date.today()
    windows: dict[int, list[str]] = {}
    for tf in config.data.timeframes:
        days = config.data.demo_days.get(tf, 1)
        windows.setdefault(days, []).append(f"candles_{tf}")
    if config.data.funding_rates:
        windows.setdefault(config.data.demo_days.get("funding", 1), []).append("funding_rates")
    research_candles = f"candles_{config.data.research_timeframe}"
    research_days = next(days for days, names in windows.items() if research_candles in names)
    windows[research_days].append("features")
    ok = refresh_instruments()
    for days, datasets in sorted(windows.items(), reverse=True):
        start = max(today - timedelta(days=days - 1), config.data.history_start)
        ok = backfill(start, today, datasets) and ok
    summary()
    ok = research() and ok
    from orchestration.demo_ideas import seed_and_report

    ok = seed_and_report() and ok
    from orchestration.cli_runs import portfolio, trade

    ok = portfolio() and ok
    ok = trade() and ok
    return 0 if ok else 1
