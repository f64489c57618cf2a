"""What the portfolio assets write to the lake and show in the UI (shared with the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from dagster import MetadataValue

from assets.paths import reports_dir
from assets.pipeline_views import md_table, regime_chart_html, regime_chart_md
from lake import catalog
from lake.results import overwrite
from lake.store import Lake
from trading.config import KeelConfig
from trading.portfolio.book import BENCHMARK, PORTFOLIO, Book
from trading.regimes.labels import REGIMES
from trading.regimes.report import headline, summary
from trading.timeframes import timeframe_minutes


def bars_per_day(config: KeelConfig) -> float:
    """Bars of the research timeframe in a day."""
    return 24 * 60 / timeframe_minutes(config.data.research_timeframe)


def regime_summary(book: Book) -> pl.DataFrame:
    """One row per strategy, the portfolio and BTC first (``summary``)."""
    return summary(book.report, [PORTFOLIO, BENCHMARK])


def regime_counts(book: Book) -> pl.DataFrame:
    """Bars and share of the window per regime (as each bar's return is judged)."""
    labels, counts = np.unique(book.judged, return_counts=True)
    frame = pl.DataFrame({"regime": labels.tolist(), "bars": counts.tolist()})
    order = {r: i for i, r in enumerate([*REGIMES, "warmup"])}
    return frame.with_columns(share=pl.col("bars") / len(book.judged)).sort(
        pl.col("regime").replace_strict(order, default=99, return_dtype=pl.Int64)
    )


def current_weights(book: Book) -> pl.DataFrame:
    """The newest weights per member, largest first."""
    last = book.weights[-1] if len(book.weights) else np.zeros(len(book.members))
    return pl.DataFrame({"strategy": book.members, "weight": last.tolist()}).sort(
        "weight", descending=True
    )


def _curves(book: Book, strategies: int = 0) -> dict[str, Any]:
    """Equity curves: the portfolio, the sum of its parts, BTC, and the ``strategies`` best in
    bad regimes."""
    curves: dict[str, Any] = {
        "portfolio": book.combined.combined_equity,
        "sum of parts": book.combined.parts_equity,
        "BTC": np.cumprod(1.0 + book.benchmark),
    }
    ranked = regime_summary(book).filter(~pl.col("strategy").is_in([PORTFOLIO, BENCHMARK]))
    for name in ranked["strategy"].head(strategies).to_list():
        curves[name] = np.cumprod(1.0 + book.returns[:, book.names.index(name)])
    return curves


def performance_frame(book: Book, per_day: float) -> pl.DataFrame:
    """The netted portfolio beside the sum of its parts and BTC: total return, annual
    volatility, Sharpe, maximum drawdown, turnover a year and the fees netting saved."""
    per_year = per_day * 365.0
    c = book.combined
    rows = []
    for name, r, turnover, saved in (
        ("portfolio (netted)", c.combined_return, c.net_turnover, c.fees_saved.sum()),
        ("sum of parts", c.parts_return, c.parts_turnover, 0.0),
        ("BTC", book.benchmark, np.zeros(1), 0.0),
    ):
        equity = np.concatenate([[1.0], np.cumprod(1.0 + r)])
        std = float(r.std(ddof=1)) if len(r) > 1 else 0.0
        rows.append(
            {
                "series": name,
                "total_return": float(equity[-1] - 1.0),
                "volatility": std * np.sqrt(per_year),
                "sharpe": float(r.mean() / std * np.sqrt(per_year)) if std > 0 else 0.0,
                "max_drawdown": float((equity / np.maximum.accumulate(equity)).min() - 1.0),
                "turnover_per_year": float(turnover.mean() * per_year),
                "fees_saved": float(saved),
            }
        )
    return pl.DataFrame(rows)


def write_book(lake: Lake, config: KeelConfig, book: Book) -> Path:
    """Overwrite the portfolio and regime tables with this result; write the HTML page."""
    overwrite(
        lake,
        catalog.portfolio_weights(),
        book.weights_frame(config.portfolio.method, bars_per_day(config), config.portfolio),
    )
    overwrite(lake, catalog.portfolio_equity(), book.equity_frame())
    overwrite(lake, catalog.regime_labels(), book.labels_frame())
    overwrite(lake, catalog.regime_report(), book.report)
    return regime_chart_html(
        "Portfolio and regimes",
        book.ts.to_list(),
        book.judged,
        _curves(book, 3),
        {
            "portfolio backtest beside the sum of its parts": performance_frame(
                book, bars_per_day(config)
            ),
            "excess return over BTC per regime (annual; bad = "
            + ", ".join(config.regimes.bad)
            + ")": regime_summary(book),
            "weights": current_weights(book),
            "regimes": regime_counts(book),
            "clusters of similar strategies": cluster_frame(book),
            "what to work on next (marginal effect on the portfolio)": book.marginal,
            **({"correlation": correlation_frame(book)} if len(book.names) <= 40 else {}),
        },
        reports_dir() / "portfolio.html",
    )


def headline_text(book: Book) -> str:
    """The trader's number in one line."""
    h = headline(book.report, PORTFOLIO)
    if h["excess_return"] is None:
        return "no bad-regime bars in the window yet"
    return (
        f"portfolio: {h['excess_return']:+.1%} a year over BTC in bad regimes "
        f"(interval {h['excess_return_low']:+.1%} .. {h['excess_return_high']:+.1%}, "
        f"{h['bars']} bars)"
    )


def allocation_md(book: Book, config: KeelConfig, page: Path) -> dict[str, Any]:
    """Metadata of the allocation asset."""
    c = book.combined
    return {
        "method": config.portfolio.method,
        "members": len(book.members),
        "weights": MetadataValue.md(md_table(current_weights(book))),
        "portfolio_return": float(c.combined_equity[-1] - 1.0) if len(c.combined_equity) else 0.0,
        "sum_of_parts_return": float(c.parts_equity[-1] - 1.0) if len(c.parts_equity) else 0.0,
        "fees_saved_by_netting": float(c.fees_saved.sum()),
        "backtest": MetadataValue.md(md_table(performance_frame(book, bars_per_day(config)))),
        "chart": MetadataValue.md(regime_chart_md(book.judged, _curves(book))),
        "report_path": MetadataValue.path(str(page)),
    }


def regime_md(book: Book, page: Path) -> dict[str, Any]:
    """Metadata of the regime report asset: the headline first."""
    h = headline(book.report, PORTFOLIO)
    return {
        "headline": headline_text(book),
        "portfolio_excess_bad_regimes": float(h["excess_return"] or 0.0),
        "regimes": MetadataValue.md(md_table(regime_counts(book))),
        "report": MetadataValue.md(md_table(regime_summary(book), limit=250)),
        "chart": MetadataValue.md(regime_chart_md(book.judged, _curves(book, 5))),
        "report_path": MetadataValue.path(str(page)),
    }


def cluster_frame(book: Book) -> pl.DataFrame:
    """Each cluster of similar strategies and its members."""
    return (
        pl.DataFrame({"cluster": book.clusters.tolist(), "strategy": book.names})
        .group_by("cluster")
        .agg(size=pl.len(), strategies=pl.col("strategy").sort().str.join(", "))
        .sort("size", "cluster", descending=[True, False])
    )


def top_pairs(book: Book, count: int = 20) -> pl.DataFrame:
    """The most correlated pairs of strategies."""
    i, j = np.triu_indices(len(book.names), k=1)
    corr = book.correlation[i, j]
    order = np.argsort(-corr)[:count]
    return pl.DataFrame(
        {
            "a": [book.names[k] for k in i[order]],
            "b": [book.names[k] for k in j[order]],
            "correlation": corr[order].tolist(),
        }
    )


def correlation_frame(book: Book) -> pl.DataFrame:
    """The correlation matrix of the strategies' returns, one row per strategy."""
    return pl.DataFrame(
        {"strategy": book.names, **{n: book.correlation[:, j] for j, n in enumerate(book.names)}}
    )


def diversity_md(book: Book) -> dict[str, Any]:
    """Metadata of the diversity asset (the full matrix up to 30 strategies)."""
    clusters = cluster_frame(book)
    matrix = (
        {"correlation_matrix": MetadataValue.md(md_table(correlation_frame(book), digits=2))}
        if len(book.names) <= 30
        else {}
    )
    return {
        "strategies": len(book.names),
        **matrix,
        "clusters": clusters.height,
        "clusters_table": MetadataValue.md(md_table(clusters)),
        "most_correlated": MetadataValue.md(md_table(top_pairs(book))),
        "work_on_next": MetadataValue.md(md_table(book.marginal, limit=30)),
    }
