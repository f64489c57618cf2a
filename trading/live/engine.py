"""Orders exactly once: submit, and never resend an order whose outcome is unknown.

Each order has a deterministic client order id (account, venue, instrument, bar), written to the
journal *before* it is sent (write-ahead), so a run killed between send and record leaves an
intent that the next run's reconciliation looks up. A create that times out is looked up by its
client order id, a bounded number of times; only a definite "the venue has no such order" lets
the same id be sent again (and the venue refuses a duplicate id anyway). If the venue cannot
say, the order stays in flight, the venue goes REDUCING and the run says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trading.live.reconcile import find_order
from trading.venues.base import (
    BackoffError,
    HaltError,
    Order,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    OrderRequest,
    RetryableError,
    Venue,
)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order the run wants on one account: what the orders table records."""

    account: str
    venue: str
    symbol: str
    side: str
    amount: float
    price: float  # the decision price (a market order's reference)
    client_order_id: str
    strategy: str  # contributing strategies, comma-separated
    reduce_only: bool = False

    def request(self) -> OrderRequest:
        """The venue request."""
        return OrderRequest(
            self.symbol,
            "buy" if self.side == "buy" else "sell",
            self.amount,
            self.client_order_id,
            reduce_only=self.reduce_only,
        )


@dataclass(slots=True)
class Outcome:
    """What sending one order led to."""

    intent: OrderIntent
    event: str  # accepted/open/closed/canceled, rejected, unknown
    order: Order | None = None
    detail: str = ""
    lookups: int = 0
    venue_down: bool = False  # look-ups unanswered: the venue goes REDUCING
    venue_halted: bool = False  # the venue refuses every call (auth, ban): stop sending to it


@dataclass(slots=True)
class Submitter:
    """Sends orders to one venue, resolving unknown outcomes by look-up."""

    venue: Venue
    lookups: int
    sleep: Callable[[float], None]
    backoff: float = 0.5

    def submit(self, intent: OrderIntent) -> Outcome:
        """Send once. On an unknown outcome, look the order up; never send it again in this
        run, even when the venue says it has no such order: exchanges report orders they
        accepted as missing for seconds to minutes (Binance's "Order does not exist" FAQ), so
        the intent stays in flight and the next run's reconciliation settles it."""
        try:
            order = self.venue.create_order(intent.request())
            return Outcome(intent, order.status, order)
        except (OrderOutcomeUnknownError, RetryableError, BackoffError) as exc:
            found, looked, definite = self._look_up(intent)
            if found is not None:
                return Outcome(intent, found.status, found, f"found by look-up after {exc}", looked)
            if definite:
                return Outcome(
                    intent,
                    "unknown",
                    None,
                    f"create timed out ({exc}); not at the venue yet; left in flight, never "
                    "resent: the next run settles it",
                    looked,
                )
            return Outcome(
                intent,
                "unknown",
                None,
                f"create timed out ({exc}); {looked} look-ups unanswered",
                looked,
                venue_down=True,
            )
        except OrderRejectedError as exc:
            # The venue refused this order (funds, size, margin): final, never resent.
            return Outcome(intent, "rejected", None, str(exc))
        except HaltError as exc:
            # Retrying cannot help (auth, permissions, ban): this order and the rest wait.
            return Outcome(intent, "rejected", None, str(exc), venue_halted=True)

    def _look_up(self, intent: OrderIntent) -> tuple[Order | None, int, bool]:
        """(order, look-ups made, whether the answer is definite)."""
        for i in range(self.lookups):
            try:
                return find_order(self.venue, intent.symbol, intent.client_order_id), i + 1, True
            except (RetryableError, BackoffError):
                self.sleep(self.backoff * 2**i)
        return None, self.lookups, False


def event_row(outcome: Outcome, stamp: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The order event a send outcome records."""
    i, o = outcome.intent, outcome.order
    return stamp(
        strategy=i.strategy,
        account=i.account,
        venue=i.venue,
        symbol=i.symbol,
        client_order_id=i.client_order_id,
        event="accepted" if outcome.event == "open" else outcome.event,
        order_id=None if o is None else o.order_id,
        filled=0.0 if o is None else o.filled,
        detail=outcome.detail or None,
    )
