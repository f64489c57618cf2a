"""The paper → live gate's evidence (and demotion's), from what the trading run journalled.

- days: since the idea's latest move into the stage (``ideas/transitions``);
- parity: every run's parity row for the strategy since then passed (``live/parity``), and
  there was at least one: no runs is no evidence of parity;
- shortfall: the notional-weighted realized cost in bps of the strategy's fills on the stage's
  account (``live/shortfall``; that table spans every fill, not only this stint);
- drawdown: of the strategy's own book on the stage's account, from ``live/net_targets``: its
  target position of each run (``contribution``) held to the next run and marked at that run's
  price, as a fraction of its capital. The account's equity mixes every strategy netted into
  it and fills carry the netted orders, so the strategy's targets are the only per-strategy
  record; costs are left to the shortfall figure.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from trading.ideas.gates import PaperEvidence

_LEG = ["account", "venue", "symbol"]


def parity_passed(parity: pl.DataFrame) -> bool:
    """Whether every parity row passed, and there is at least one."""
    return bool(parity.height) and bool(parity["passed"].all())


def shortfall_bps(shortfall: pl.DataFrame) -> tuple[float, int]:
    """Notional-weighted realized bps over the rows, and their fills (0 bps without fills)."""
    notional = float(shortfall["notional"].sum()) if shortfall.height else 0.0
    if notional <= 0:
        return 0.0, 0
    realized = float((shortfall["realized_bps"] * shortfall["notional"]).sum()) / notional
    return realized, int(shortfall["fills"].sum())


def book_drawdown(net_targets: pl.DataFrame) -> float:
    """Maximum drawdown (negative or zero) of a strategy's target positions, each held from
    its run to the next and marked at that run's price, as returns on the capital it held
    them with. A bar traded by several runs counts once (its newest run)."""
    if net_targets.is_empty():
        return 0.0
    legs = (
        net_targets.sort("at")
        .unique(["bar", *_LEG], keep="last")
        .sort([*_LEG, "bar"])
        .with_columns(
            held=pl.col("contribution").shift(1).over(_LEG),
            moved=pl.col("price").diff().over(_LEG),
        )
    )
    bars = (
        legs.group_by("bar")
        .agg(
            pnl=(pl.col("held") * pl.col("moved")).fill_null(0.0).sum(),
            capital=pl.col("capital").max(),
        )
        .sort("bar")
        .with_columns(base=pl.col("capital").shift(1))
    )
    equity, peak, worst = 1.0, 1.0, 0.0
    for pnl, base in zip(bars["pnl"].to_list(), bars["base"].to_list(), strict=True):
        if base:
            equity *= 1.0 + pnl / base
        peak = max(peak, equity)
        worst = min(worst, equity / peak - 1.0)
    return worst


def stint_evidence(
    strategy: str,
    stage: str,
    since: datetime,
    now: datetime,
    parity: pl.DataFrame,
    shortfall: pl.DataFrame,
    net_targets: pl.DataFrame,
) -> tuple[PaperEvidence, int]:
    """A strategy's evidence for its stint in ``stage`` since ``since`` (frames as their lake
    tables, unfiltered), and the number of fills behind the shortfall figure."""
    mine = pl.col("strategy") == strategy
    period = pl.col("bar") >= since
    bps, fills = shortfall_bps(shortfall.filter(mine, pl.col("account") == stage))
    evidence = PaperEvidence(
        days=max((now - since).total_seconds() / 86_400.0, 0.0),
        parity_passed=parity_passed(parity.filter(mine, period)),
        shortfall_bps=bps,
        max_drawdown=book_drawdown(net_targets.filter(mine, period, pl.col("account") == stage)),
    )
    return evidence, fills
