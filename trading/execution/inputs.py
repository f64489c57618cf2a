"""Adapters from the account's view (equity, exposure, caps per venue) to the router's and the
gate's inputs, so the caps are read in one way wherever they are configured."""

from __future__ import annotations

from typing import Protocol

from trading.execution.types import VenueState


class CapsLike(Protocol):
    """A venue's caps: the venue config's ``caps`` or the ledger's ``VenueCaps``."""

    @property
    def max_equity_usd(self) -> float | None: ...
    @property
    def max_equity_share(self) -> float | None: ...
    @property
    def max_gross_exposure_usd(self) -> float | None: ...


def venue_state(
    venue: str,
    *,
    equity_usd: float,
    gross_exposure_usd: float,
    pending_notional_usd: float,
    caps: CapsLike | None,
    total_equity_usd: float,
    healthy: bool,
) -> VenueState:
    """A venue's state with its caps resolved: the equity cap is the tighter of the absolute
    cap and the share of the whole account's equity."""
    max_equity: float | None = None
    max_gross: float | None = None
    if caps is not None:
        bounds = [
            b
            for b in (
                caps.max_equity_usd,
                caps.max_equity_share * total_equity_usd if caps.max_equity_share else None,
            )
            if b is not None
        ]
        max_equity = min(bounds) if bounds else None
        max_gross = caps.max_gross_exposure_usd
    return VenueState(
        venue=venue,
        equity_usd=equity_usd,
        gross_exposure_usd=gross_exposure_usd,
        pending_notional_usd=pending_notional_usd,
        max_gross_exposure_usd=max_gross,
        max_equity_usd=max_equity,
        healthy=healthy,
    )
