"""How much to trust a Sharpe ratio: its confidence interval, and the deflated Sharpe ratio
that discounts the best of many strategies tried for the luck of the draw.

All Sharpe ratios here are per bar (not annualized): mean / std of per-bar returns.
References: Mertens (2002) for the standard error under skew and fat tails; Bailey and
López de Prado (2014), "The Deflated Sharpe Ratio", for the expected maximum of N trials.
"""

from __future__ import annotations

import math
from statistics import NormalDist

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def sharpe_std_error(sharpe: float, bars: int, skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """Standard error of a per-bar Sharpe ratio estimated from ``bars`` returns with that skew
    and (non-excess) kurtosis; 0 data gives an infinite error."""
    if bars < 2:
        return math.inf
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    return math.sqrt(max(variance, 0.0) / (bars - 1))


def sharpe_interval(
    sharpe: float, bars: int, skew: float = 0.0, kurtosis: float = 3.0, level: float = 0.95
) -> tuple[float, float]:
    """The ``level`` confidence interval of a per-bar Sharpe ratio."""
    error = sharpe_std_error(sharpe, bars, skew, kurtosis or 3.0)
    z = _NORMAL.inv_cdf(0.5 + level / 2.0)
    if not math.isfinite(error):
        return (-math.inf, math.inf)
    return (sharpe - z * error, sharpe + z * error)


def expected_max_sharpe(trials: int, variance: float) -> float:
    """The Sharpe ratio the best of ``trials`` skill-less strategies reaches by luck alone,
    given the variance of the Sharpe ratios across the trials."""
    if trials <= 1 or variance <= 0.0:
        return 0.0
    a = _NORMAL.inv_cdf(1.0 - 1.0 / trials)
    b = _NORMAL.inv_cdf(1.0 - 1.0 / (trials * math.e))
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b)


def deflated_sharpe(
    sharpe: float,
    bars: int,
    skew: float,
    kurtosis: float,
    trials: int,
    variance: float,
) -> float:
    """Probability that the true Sharpe ratio exceeds what the best of ``trials`` would show by
    luck (0..1; above 0.95 is the usual bar)."""
    if bars < 2:
        return 0.0
    benchmark = expected_max_sharpe(trials, variance)
    spread = 1.0 - skew * sharpe + ((kurtosis or 3.0) - 1.0) / 4.0 * sharpe * sharpe
    if spread <= 0.0:
        return 0.0
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(bars - 1) / math.sqrt(spread))
