"""The canonical instrument: what a model trades, independent of the venue.

ccxt's unified symbol already names one market the same way on every exchange
(``BTC/USDT`` spot, ``BTC/USDT:USDT`` the USDT-settled perpetual), so the canonical instrument
is that symbol, parsed into base, quote, settle and kind. A target on a canonical instrument is
one exposure, however many venues list it; the router (live) and the backtest (research) split
its orders across those venues the same way (``trading.routesplit.route_split``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["spot", "swap"]


@dataclass(frozen=True, slots=True)
class Instrument:
    """A canonical instrument."""

    base: str
    quote: str
    settle: str
    kind: Kind

    @property
    def symbol(self) -> str:
        """The unified symbol: ``BASE/QUOTE`` for spot, ``BASE/QUOTE:SETTLE`` for swaps."""
        pair = f"{self.base}/{self.quote}"
        return f"{pair}:{self.settle}" if self.kind == "swap" else pair


def canonical(symbol: str) -> Instrument:
    """Parse a unified symbol; anything else is an error naming the expected form."""
    pair, _, settle = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    if not slash or not base or not quote or (":" in symbol and not settle):
        raise ValueError(
            f"{symbol!r} is not a unified symbol; use BASE/QUOTE (spot) or BASE/QUOTE:SETTLE "
            "(perpetual swap), e.g. BTC/USDT or BTC/USDT:USDT"
        )
    return Instrument(base, quote, settle or quote, "swap" if settle else "spot")
