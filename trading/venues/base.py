"""The venue interface (protocol v2): what every exchange account (simulated, replayed, paper or
ccxt) offers.

Quantities are base-asset units everywhere (positions, orders, fills); an adapter converts to
and from contracts at its own boundary. Market data comes back as polars frames in the layouts
of ``trading.frames``; the account side takes and returns small frozen records. Errors are
translated at the venue boundary into kinds the caller acts on without knowing the exchange:

- ``RetryableError`` / ``BackoffError``: transient, try again (later);
- ``OrderRejectedError``: the exchange refused *this order*; other orders are unaffected;
- ``OrderOutcomeUnknownError``: the order may or may not exist; look it up with
  ``fetch_order(symbol, client_order_id)`` before anything is resent;
- ``HaltError``: retrying cannot help (auth, permissions, bad payloads): stop using the venue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import polars as pl

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
TimeInForce = Literal["GTC", "IOC", "FOK"]
OrderStatus = Literal["open", "closed", "canceled", "rejected"]
InstrumentKind = Literal["spot", "swap"]
SIDES: tuple[Side, ...] = ("buy", "sell")
ORDER_STATUSES: tuple[OrderStatus, ...] = ("open", "closed", "canceled", "rejected")
TIMES_IN_FORCE: tuple[TimeInForce, ...] = ("GTC", "IOC", "FOK")
RejectReason = Literal[
    "invalid", "insufficient_funds", "margin", "post_only_would_cross", "not_found", "unsupported"
]


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
    """Retrying cannot help (auth, permissions, IP ban, unreadable payloads): halt the venue."""


class UnknownSymbolError(HaltError):
    """The venue does not list the symbol."""


class PayloadError(HaltError):
    """The exchange answered with data Keel cannot trust (NaN, missing field, unknown status);
    the message names venue, call and field."""

    def __init__(self, venue: str, call: str, field_name: str, message: str) -> None:
        super().__init__(venue, call, f"field {field_name!r}: {message}")
        self.field = field_name


class OrderRejectedError(VenueError):
    """The exchange refused this one order (invalid, funds, margin, post-only would cross, not
    found); the venue itself is fine and other orders go on."""

    def __init__(self, venue: str, call: str, reason: RejectReason, message: str) -> None:
        super().__init__(venue, call, f"order rejected ({reason}): {message}")
        self.reason: RejectReason = reason


class OrderOutcomeUnknownError(VenueError):
    """A create whose outcome is unknown (timeout after sending, lost or unreadable
    acknowledgement): look the order up by its client order id; never resend blindly."""

    def __init__(self, venue: str, call: str, client_order_id: str, message: str) -> None:
        super().__init__(
            venue,
            call,
            f"outcome of order {client_order_id} unknown ({message}); look it up with "
            "fetch_order(symbol, client_order_id) before resending",
        )
        self.client_order_id = client_order_id


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue kind can do, as data: callers ask this, never the kind."""

    market_data: bool = True  # candles (and instruments) of its own, stored in market/*
    simulated: bool = False  # a simulated account: no real money, safe to reset and paper-trade
    funding_history: bool = False  # funding-rate history of perpetual swaps
    account: bool = False  # balances, positions, open orders, fills
    trading: bool = False  # create, cancel and look up orders
    post_only: bool = False
    reduce_only: bool = False
    time_in_force: frozenset[TimeInForce] = field(default_factory=lambda: frozenset({"GTC"}))

    def refuse(self, request: OrderRequest) -> str | None:
        """Why this venue cannot take the request's options, or None if it can."""
        if not self.trading:
            return "the venue takes no orders"
        if request.post_only and not self.post_only:
            return "post-only orders are not supported here"
        if request.reduce_only and not self.reduce_only:
            return "reduce-only orders are not supported here"
        if request.time_in_force not in self.time_in_force:
            return f"time in force {request.time_in_force} is not supported here"
        return None


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable market on one venue, with the rules an order must respect. Amount limits
    and steps are in base units (contracts × contract size)."""

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
    """An order as the router wants it sent, amount in base units; ``client_order_id`` makes
    resubmission harmless. ``post_only`` orders are refused rather than allowed to take."""

    symbol: str
    side: Side
    amount: float
    client_order_id: str
    type: OrderType = "market"
    price: float | None = None
    reduce_only: bool = False
    post_only: bool = False
    time_in_force: TimeInForce = "GTC"

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side must be buy or sell, got {self.side!r}")
        if self.time_in_force not in TIMES_IN_FORCE:
            raise ValueError(f"time_in_force must be one of {TIMES_IN_FORCE}")
        if self.post_only and self.type != "limit":
            raise ValueError("post_only needs a limit order")
        if self.type == "limit" and self.price is None:
            raise ValueError("a limit order needs a price")


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the venue knows it; ``amount`` and ``filled`` in base units."""

    venue: str
    symbol: str
    client_order_id: str
    order_id: str
    side: Side
    type: OrderType
    amount: float
    price: float | None
    filled: float
    status: OrderStatus
    ts: datetime


def derive_client_order_id(*parts: object) -> str:
    """A deterministic client order id from what identifies the decision (model, venue, symbol,
    bar, leg), so a retried run resubmits the same id and the venue refuses a duplicate.
    ``k`` + 31 hex digits: 32 alphanumerics, accepted as is by OKX (at most 32 alphanumerics),
    Binance and Bybit (at most 36 of letters, digits, ``-``, ``_``)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"k{digest[:31]}"


@runtime_checkable
class Venue(Protocol):
    """One exchange account. Times are UTC; candle ranges are half-open ``[start, end)``."""

    @property
    def name(self) -> str:
        """The venue's name in the config."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What this venue can do."""
        ...

    def instruments(self) -> list[Instrument]:
        """Every configured market, with precision, limits and fees."""
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
        """Balances per asset in the ``BALANCES`` layout (free, used, total, debt)."""
        ...

    def fetch_positions(self) -> pl.DataFrame:
        """Open derivative positions in the ``POSITIONS`` layout, sizes in base units."""
        ...

    def fetch_open_orders(self) -> pl.DataFrame:
        """Resting orders in the ``ORDERS`` layout."""
        ...

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        """Own trades at or after a time in the ``FILLS`` layout."""
        ...

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        """The order Keel sent with that client order id, or None if the venue never got it:
        the only safe answer to a create whose outcome is unknown."""
        ...

    def create_order(self, request: OrderRequest) -> Order:
        """Place an order; a repeated ``client_order_id`` returns the existing order."""
        ...

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        """Cancel a resting order by its client order id."""
        ...
