"""One strategy's research report, as markdown (shown in the Dagster UI, charts embedded as
data-URI images) and as a standalone HTML page (kept per run, never overwritten)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import polars as pl

from trading.backtest.charts import data_uri, line_chart
from trading.backtest.engine import Market, Result

UNITS: Mapping[str, tuple[str, str]] = {
    "total_return": ("total return", "% of starting equity"),
    "annual_return": ("annual return", "%/year, compounded"),
    "volatility": ("volatility", "%/year"),
    "sharpe": ("Sharpe", "annualized"),
    "sharpe_ci_low": ("Sharpe 95% CI low", "annualized"),
    "sharpe_ci_high": ("Sharpe 95% CI high", "annualized"),
    "deflated_sharpe": ("deflated Sharpe", "probability, 0–1"),
    "oos_sharpe": ("out-of-sample Sharpe", "annualized"),
    "sortino": ("Sortino", "annualized"),
    "max_drawdown": ("max drawdown", "% of peak equity"),
    "turnover": ("turnover", "× equity per year"),
    "hit_rate": ("hit rate", "share of bars held that gained"),
    "exposure": ("time in market", "share of bars"),
    "alpha": ("alpha vs BTC", "%/year, arithmetic"),
    "beta": ("beta vs BTC", "ratio"),
    "excess_return_bad_regimes": (
        "excess return over BTC in bad regimes",
        "%/year: mean per-bar (strategy − BTC) over bars in a bad regime ([regimes]), × bars/year",
    ),
    "fees": ("fees", "% of equity, summed"),
    "slippage": ("spread + impact", "% of equity, summed"),
    "funding": ("funding paid", "% of equity, summed"),
    "borrow": ("borrow paid", "% of equity, summed"),
    "costs_bps": ("trading cost", "bps of traded notional"),
}
_PERCENT = {
    "total_return",
    "annual_return",
    "volatility",
    "max_drawdown",
    "hit_rate",
    "exposure",
    "alpha",
    "excess_return_bad_regimes",
    "fees",
    "slippage",
    "funding",
    "borrow",
}


@dataclass(frozen=True, slots=True)
class Report:
    """The report in both forms."""

    markdown: str
    html: str


def _fmt(key: str, value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.2%}" if key in _PERCENT else f"{value:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def monthly_returns(ts: np.ndarray, net: np.ndarray, benchmark: np.ndarray) -> pl.DataFrame:
    """Compounded return per calendar month of the strategy and of BTC buy-and-hold."""
    frame = pl.DataFrame({"ts": ts, "net": net, "btc": benchmark})
    return (
        frame.with_columns(month=pl.col("ts").dt.strftime("%Y-%m"))
        .group_by("month", maintain_order=True)
        .agg(
            ((pl.col("net") + 1.0).product() - 1.0).alias("strategy"),
            ((pl.col("btc") + 1.0).product() - 1.0).alias("btc"),
        )
    )


def contributions(market: Market, result: Result) -> pl.DataFrame:
    """Per instrument: gross P&L (Σ position × return, % of equity), traded (× equity) and
    the share of trading, largest contributions first."""
    pnl = np.einsum("ti,ti->i", result.positions, market.returns)
    traded = np.abs(result.trades).sum(axis=0)
    return pl.DataFrame(
        {
            "venue": [v for v, _ in market.instruments],
            "symbol": [s for _, s in market.instruments],
            "gross_pnl": pnl,
            "traded": traded,
        }
    ).sort(pl.col("gross_pnl").abs(), descending=True)


def build_report(
    name: str,
    market: Market,
    result: Result,
    metrics: Mapping[str, Any],
    benchmark: np.ndarray,
    meta: Mapping[str, Any],
) -> Report:
    """Metrics with units, equity against BTC, drawdown, exposure and turnover over time,
    monthly returns, contribution per instrument and venue, and costs in bps."""
    ts = market.ts
    equity = result.equity
    btc = np.cumprod(1.0 + benchmark).astype(np.float64)
    drawdown = equity / np.maximum.accumulate(np.maximum(equity, 1.0)) - 1.0
    per_day = max(1, round(market.bars_per_year / 365.0))
    daily_turnover = np.convolve(result.turnover, np.ones(per_day), mode="full")[: len(ts)]
    charts = [
        line_chart("Equity vs BTC buy-and-hold", ts, [(name, equity), ("BTC", btc)], "growth of 1"),
        line_chart("Drawdown", ts, [(name, drawdown)], "% below peak", percent=True),
        line_chart(
            "Gross exposure and turnover",
            ts,
            [("exposure", result.exposure), ("turnover, trailing day", daily_turnover)],
            "× equity",
        ),
    ]
    rows = [[UNITS[k][0], _fmt(k, metrics[k]), UNITS[k][1]] for k in UNITS if k in metrics]
    months = monthly_returns(ts, result.net, benchmark)
    month_rows = [[m, f"{s:.2%}", f"{b:.2%}"] for m, s, b in months.iter_rows()]
    parts = contributions(market, result)
    inst_rows = [[v, s, f"{p:.2%}", f"{t:.2f}"] for v, s, p, t in parts.head(12).iter_rows()]
    venues = parts.group_by("venue").agg(pl.col("gross_pnl").sum(), pl.col("traded").sum())
    venue_rows = [[v, f"{p:.2%}", f"{t:.2f}"] for v, p, t in venues.sort("venue").iter_rows()]
    cost_rows = [
        [label, f"{float(metrics.get(key, 0.0)) * 1e4:.1f}"]
        for key, label in (
            ("fees", "fees"),
            ("slippage", "spread + impact"),
            ("funding", "funding"),
            ("borrow", "borrow"),
        )
    ]
    head = (
        f"**{name}** · {str(ts[0])[:16]} → {str(ts[-1])[:16]} UTC · run `{meta.get('run_id')}` "
        f"· features v{meta.get('features_version')} · capital {meta.get('capital', 0):,.0f} "
        f"{meta.get('account', '')} · {meta.get('style', 'taker')} orders, "
        f"filled at the {meta.get('fill', 'close')}, delay {meta.get('delay', 0)} bars"
    )
    sections: list[tuple[str, str]] = [
        ("Metrics", _table(["metric", "value", "unit"], rows)),
        ("Monthly returns", _table(["month", name, "BTC"], month_rows)),
        (
            "Contribution per instrument (top 12)",
            _table(["venue", "symbol", "gross P&L, % of equity", "traded, × equity"], inst_rows),
        ),
        (
            "Contribution per venue",
            _table(["venue", "gross P&L, % of equity", "traded, × equity"], venue_rows),
        ),
        (
            "Costs, bps of equity (summed over the window)",
            _table(["cost", "bps"], cost_rows)
            + f"\n\nPer unit traded: {float(metrics.get('costs_bps', 0.0)):.1f} bps.",
        ),
    ]
    images = "\n\n".join(f"![chart]({data_uri(svg)})" for svg in charts)
    markdown = "\n\n".join([head, images, *(f"#### {title}\n\n{body}" for title, body in sections)])
    html = (
        f"<html><head><meta charset='utf-8'><title>{escape(name)}</title>"
        "<style>body{font-family:sans-serif;max-width:800px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
        f"</head><body><h2>{escape(name)}</h2><p>{escape(head)}</p>{''.join(charts)}"
        + "".join(f"<h4>{escape(t)}</h4>{_html_table(b)}" for t, b in sections)
        + "</body></html>"
    )
    return Report(markdown, html)


def _html_table(markdown: str) -> str:
    out, rest = [], ""
    for line in markdown.splitlines():
        if line.startswith("|---"):
            continue
        if line.startswith("|"):
            cells = [escape(c.strip()) for c in line.strip("|").split("|")]
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        elif line:
            rest += f"<p>{escape(line)}</p>"
    return f"<table>{''.join(out)}</table>{rest}"
