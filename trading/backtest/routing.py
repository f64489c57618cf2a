"""What each market column costs in each execution style the backtest may use: the router's own
option terms (``trading.execution.quotes.terms``), so research prices an order as live routing
would — fees at the account's tier, the expected cost of a maker order (fill probability,
adverse selection, the unfilled rest crossing as a taker, urgency), points valued at the
trader's point value, rebates — and chooses among the options with the router's solver
(``trading.routesplit.route_split``), weights and daily rewards budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from trading.backtest.market import Array, InstrumentCosts
from trading.costs import Style
from trading.execution.config import RoutingConfig
from trading.execution.quotes import styles, terms
from trading.execution.rewards import venue_rewards

ResearchStyle = Literal["taker", "maker", "auto"]
STYLES: tuple[str, ...] = get_args(ResearchStyle)


def check_style(style: str) -> ResearchStyle:
    """The style, or a clear error naming the accepted ones."""
    if style not in STYLES:
        raise ValueError(
            f"execution style {style!r} is unknown; use one of {', '.join(STYLES)} (auto: maker "
            "or taker per trade, chosen as the router would)"
        )
    return style  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Options:
    """Per market column (rows) and style (columns, in ``styles`` order) the option terms,
    plus the router's weights and daily rewards budget (USD)."""

    styles: tuple[Style, ...]
    fee: Array
    spread_bps: Array
    impact_k: Array
    points: Array
    tier: Array
    gap: Array
    depth: NDArray[np.bool_]
    impact_weight: float
    rewards_weight: float
    budget_usd: float


def options(
    instruments: Sequence[tuple[str, str]],
    costs: InstrumentCosts,
    routing: RoutingConfig,
    style: ResearchStyle,
) -> Options:
    """The router's option terms of every column for ``style`` (auto: taker and maker, as
    ``[routing] style = "auto"`` offers them); fees at the tier of ``[routing.venues]``, else
    the column's own; half spread and impact factor the column's (the routing config's, or
    calibrated from fills)."""
    chosen = styles(routing.model_copy(update={"style": check_style(style)}))
    shape = (len(instruments), len(chosen))
    out = {k: np.zeros(shape) for k in ("fee", "spread_bps", "impact_k", "points", "tier", "gap")}
    depth = np.ones(shape, dtype=bool)
    for c, (venue, _) in enumerate(instruments):
        rewards = venue_rewards(routing, venue).model_copy(
            update={
                "half_spread_bps": float(costs.half_spread_bps[c]),
                "impact_k": float(costs.impact_k[c]),
            }
        )
        for s, st in enumerate(chosen):
            t = terms(float(costs.maker_fee[c]), float(costs.taker_fee[c]), rewards, routing, st)
            out["fee"][c, s] = t.fee
            out["spread_bps"][c, s] = t.spread_bps
            out["impact_k"][c, s] = t.impact_k
            out["points"][c, s] = t.points_rate
            out["tier"][c, s] = t.tier_rate
            out["gap"][c, s] = t.tier_gap_usd
            depth[c, s] = t.needs_depth
    return Options(
        chosen,
        **out,
        depth=depth,
        impact_weight=routing.impact_weight,
        rewards_weight=routing.rewards_weight,
        budget_usd=routing.rewards_budget_usd_per_day,
    )
