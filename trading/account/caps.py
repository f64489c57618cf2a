"""Per-venue caps: how much of the book may sit on one exchange, each venue's use of its caps,
and the transfers that bring every venue back under them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class VenueCaps:
    """A venue's caps (None: no cap), as in the venue config's ``caps`` sub-table."""

    max_equity_usd: float | None = None
    max_equity_share: float | None = None
    max_gross_exposure_usd: float | None = None


@dataclass(frozen=True, slots=True)
class CapUse:
    """One venue against its caps. ``allowed_equity`` is the tighter of the USD and share caps
    (inf when uncapped); uses are fractions of each cap (None: no such cap)."""

    venue: str
    equity: float
    share: float
    gross_exposure: float
    allowed_equity: float
    equity_use: float | None
    share_use: float | None
    gross_use: float | None

    @property
    def over(self) -> bool:
        """Whether any cap is exceeded."""
        return any(u is not None and u > 1.0 + 1e-9 for u in self.uses)

    @property
    def uses(self) -> tuple[float | None, float | None, float | None]:
        """Use of the equity, share and gross-exposure caps."""
        return (self.equity_use, self.share_use, self.gross_use)

    @property
    def worst_use(self) -> float | None:
        """The highest use of any cap, or None if the venue has no cap."""
        known = [u for u in self.uses if u is not None]
        return max(known) if known else None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move ``amount`` of the account currency from one venue to another."""

    source: str
    target: str
    amount: float
    currency: str

    def __str__(self) -> str:
        return f"move {self.amount:,.0f} {self.currency} from {self.source} to {self.target}"


def cap_uses(
    equity: Mapping[str, float], gross: Mapping[str, float], caps: Mapping[str, VenueCaps | None]
) -> list[CapUse]:
    """Each venue's use of its caps; the share is of the total equity over all venues."""
    total = sum(max(e, 0.0) for e in equity.values())
    out = []
    for venue in sorted(equity):
        cap = caps.get(venue) or VenueCaps()
        eq, gr = equity[venue], gross.get(venue, 0.0)
        share = eq / total if total > 0 else 0.0
        limits = [math.inf]
        if cap.max_equity_usd is not None:
            limits.append(cap.max_equity_usd)
        if cap.max_equity_share is not None:
            limits.append(cap.max_equity_share * total)
        out.append(
            CapUse(
                venue=venue,
                equity=eq,
                share=share,
                gross_exposure=gr,
                allowed_equity=min(limits),
                equity_use=None if cap.max_equity_usd is None else eq / cap.max_equity_usd,
                share_use=None if cap.max_equity_share is None else share / cap.max_equity_share,
                gross_use=None
                if cap.max_gross_exposure_usd is None
                else gr / cap.max_gross_exposure_usd,
            )
        )
    return out


def transfers(uses: list[CapUse], currency: str) -> tuple[list[Transfer], float]:
    """Transfers that bring every venue's equity under its caps: the excess of each venue over
    its allowed equity goes to the venues with the most headroom, largest first. Returns the
    transfers and what no venue had room for (0 when the caps can all be met)."""
    excess = {u.venue: u.equity - u.allowed_equity for u in uses if u.equity > u.allowed_equity}
    room = {
        u.venue: u.allowed_equity - u.equity
        for u in uses
        if u.venue not in excess and u.allowed_equity > u.equity
    }
    moves: list[Transfer] = []
    for source, amount in sorted(excess.items(), key=lambda kv: -kv[1]):
        left = amount
        for target in sorted(room, key=lambda v: -room[v]):
            if left <= 1e-9:
                break
            take = min(left, room[target])
            if take <= 1e-9:
                continue
            moves.append(Transfer(source, target, take, currency))
            room[target] -= take
            left -= take
        excess[source] = left
    return moves, sum(v for v in excess.values() if v > 1e-9)


def caps_of(venues: Iterable[Any]) -> dict[str, VenueCaps | None]:
    """Each configured venue's caps (its ``caps`` sub-table) as plain values."""
    out: dict[str, VenueCaps | None] = {}
    for venue in venues:
        cap = getattr(venue, "caps", None)
        out[venue.name] = (
            None
            if cap is None
            else VenueCaps(cap.max_equity_usd, cap.max_equity_share, cap.max_gross_exposure_usd)
        )
    return out
