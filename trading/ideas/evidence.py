"""The research → paper gate's evidence, computed from a strategy's per-bar research returns."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from trading.ideas.gates import ResearchEvidence

Array = NDArray[np.float64]
DAYS_PER_MONTH = 365.25 / 12


def research_evidence(
    run_id: str,
    returns: Array,
    out_of_sample: NDArray[np.bool_],
    portfolio: Array | None,
    benchmark: Array,
    bad: NDArray[np.bool_],
    bars_per_day: float,
) -> ResearchEvidence:
    """Sharpe and length of the out-of-sample bars, the maximum drawdown of the whole run, the
    correlation to the current portfolio's returns (0 when it holds nothing) and the annual
    excess return over BTC in bad-regime bars."""
    bars_per_year = bars_per_day * 365.0
    oos = returns[out_of_sample]
    std = float(oos.std(ddof=1)) if len(oos) > 1 else 0.0
    sharpe = float(oos.mean() / std * math.sqrt(bars_per_year)) if std > 1e-15 else 0.0
    equity = np.concatenate([[1.0], np.cumprod(1.0 + returns)])
    drawdown = float((equity / np.maximum.accumulate(equity)).min() - 1.0)
    corr = 0.0
    if portfolio is not None and len(returns) > 2:
        sp, sr = float(portfolio.std()), float(returns.std())
        if sp > 1e-15 and sr > 1e-15:
            corr = float(np.corrcoef(returns, portfolio)[0, 1])
    excess = float((returns[bad] - benchmark[bad]).mean() * bars_per_year) if bad.any() else 0.0
    return ResearchEvidence(
        run_id=run_id,
        oos_sharpe=sharpe,
        oos_months=float(out_of_sample.sum()) / bars_per_day / DAYS_PER_MONTH,
        max_drawdown=drawdown,
        correlation=corr,
        bad_regime_excess=excess,
    )


def trailing_mask(bars: int, fraction: float) -> NDArray[np.bool_]:
    """The last ``fraction`` of the bars, as the out-of-sample window."""
    mask = np.zeros(bars, dtype=bool)
    mask[bars - round(bars * fraction) :] = True
    return mask
