"""The venue interface: what every exchange account (simulated, replayed or ccxt) offers.

Market data comes back as polars frames in the layouts of ``trading.frames``; the account side
takes and returns small frozen records. Errors are translated at the venue boundary into three
kinds the caller can act on without knowing the exchange: retry, back off, halt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import polars as pl

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
InstrumentKind = Literal["spot", "swap"]


class VenueError(Exception):
    """Base of everything a venue raises; says which venue and call failed."""

    def __init__(self, venue: str, call: str, message: str) -> None:
        super().__init__(f"{venue}.{call}: {message}")
        self.venue = venue
        self.call = call


class RetryableError(VenueError):
    """Transient (network, timeout, exchange unavailable): retry with backoff."""


class BackoffError(VenueError):
    """Rate limit or DDoS protection: wait longer before the next request."""


class HaltError(VenueError):
    """Retrying cannot help (auth, permissions, funds, invalid order, unknown symbol)."""


class UnknownSymbolError(HaltError):
    """The venue does not list the symbol."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable market on one venue, with the rules an order must respect."""

    venue: str
    symbol: str
    base: str
    quote: str
    settle: str
    kind: InstrumentKind
    contract_size: float
    price_step: float
    amount_step: float
    min_amount: float
    min_notional: float
    maker_fee: float
    taker_fee: float


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as the router wants it sent; ``client_order_id`` makes resubmission harmless."""

    symbol: str
    side: Side
    amount: float
    client_order_id: str
    type: OrderType = "market"
    price: float | None = None
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the venue knows it."""

    venue: str
    symbol: str
    client_order_id: str
    order_id: str
    side: Side
    type: OrderType
    amount: float
    price: float | None
    filled: float
    status: Literal["open", "closed", "canceled", "rejected"]
    ts: datetime


def derive_client_order_id(*parts: object) -> str:
    """A deterministic client order id from what identifies the decision (model, venue, symbol,
    bar, leg), so a retried run resubmits the same id and the venue refuses a duplicate."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"keel-{digest[:24]}"


@runtime_checkable
class Venue(Protocol):
    """One exchange account. Times are UTC; candle ranges are half-open ``[start, end)``."""

    @property
    def name(self) -> str:
        """The venue's name in the config."""
        ...

    def instruments(self) -> list[Instrument]:
        """Every market the venue lists, with precision, limits and fees."""
        ...

    def fetch_candles(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pl.DataFrame:
        """Closed bars opening in ``[start, end)`` in the ``CANDLES`` layout, sorted by time."""
        ...

    def fetch_funding_rates(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Funding settlements in ``[start, end)`` in the ``FUNDING_RATES`` layout."""
        ...

    def fetch_balances(self) -> pl.DataFrame:
        """Balances per asset in the ``BALANCES`` layout."""
        ...

    def fetch_positions(self) -> pl.DataFrame:
        """Open derivative positions in the ``POSITIONS`` layout."""
        ...

    def fetch_open_orders(self) -> pl.DataFrame:
        """Resting orders in the ``ORDERS`` layout."""
        ...

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        """Own trades since a time in the ``FILLS`` layout."""
        ...

    def create_order(self, request: OrderRequest) -> Order:
        """Place an order; a repeated ``client_order_id`` returns the existing order."""
        ...

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        """Cancel a resting order by its client order id."""
        ...
