"""ccxt errors, translated once at the venue boundary into the three kinds callers act on.

- retry (``RetryableError``): network errors, timeouts, exchange unavailable or in maintenance;
- back off (``BackoffError``): rate limits and DDoS protection, waited out longer;
- order rejected (``OrderRejectedError``): the exchange refused this order (invalid, funds,
  post-only would cross, not found); other orders and the venue are fine;
- halt (``HaltError``): authentication, permissions, an IP ban (HTTP 418: retrying prolongs
  it), unknown symbols, anything else: retrying cannot help.

Retries wait a growing delay with random jitter, so many clients do not retry in lockstep.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from trading.venues.base import (
    BackoffError,
    HaltError,
    OrderRejectedError,
    RejectReason,
    RetryableError,
    UnknownSymbolError,
    VenueError,
)

T = TypeVar("T")

_ADVICE = {
    "AuthenticationError": "check the API key and secret in the venue's environment variables",
    "PermissionDenied": "the API key lacks a permission this call needs (read-only keys cannot "
    "trade); grant it on the exchange or disable the call",
    "AccountSuspended": "the exchange suspended the account; contact the exchange",
    "InsufficientFunds": "the account lacks the balance for this order; reduce size or fund it",
    "OrderNotFound": "the order is unknown to the exchange (already filled or canceled?)",
    "InvalidOrder": "the exchange refused the order; check size, price, precision and limits",
    "BadSymbol": "the exchange does not list this symbol; fix the venue's instruments",
    "NotSupported": "the exchange does not support this call through ccxt",
}


# ccxt exceptions that refuse one order, and why (checked most specific first).
_REJECTIONS: tuple[tuple[str, RejectReason], ...] = (
    ("OrderImmediatelyFillable", "post_only_would_cross"),
    ("OrderNotFound", "not_found"),
    ("InsufficientFunds", "insufficient_funds"),
    ("InvalidOrder", "invalid"),
)
_IP_BAN = re.compile(r"\s418\s")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. Rate-limit errors wait ``backoff_delay`` and grow; each
    delay is shortened by up to ``jitter`` (a fraction) at random."""

    retries: int = 4
    base_delay: float = 0.5
    backoff_delay: float = 5.0
    max_delay: float = 60.0
    jitter: float = 0.25

    def delay(self, error: VenueError, attempt: int, draw: float = 0.0) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based); ``draw`` in [0, 1)."""
        first = self.backoff_delay if isinstance(error, BackoffError) else self.base_delay
        return float(min(self.max_delay, first * 2**attempt) * (1.0 - self.jitter * draw))


def _names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def translate(exc: Exception, venue: str, call: str, redact: Callable[[str], str]) -> VenueError:
    """One ccxt exception (or anything else) as a Keel venue error with a message that names the
    venue, the call and what to do; secrets are scrubbed from the exchange's text."""
    names = _names(exc)
    text = redact(str(exc))[:500]
    if _IP_BAN.search(str(exc)):
        return HaltError(
            venue,
            call,
            f"the exchange banned this IP (HTTP 418); every request prolongs the ban, so Keel "
            f"stopped calling it: wait until the ban lifts and lower the request rate: {text}",
        )
    if "RateLimitExceeded" in names or "DDoSProtection" in names:
        return BackoffError(venue, call, f"rate limited, backing off: {text}")
    if "NetworkError" in names or "OperationFailed" in names:
        return RetryableError(venue, call, f"transient failure ({names[0]}), retrying: {text}")
    advice = next((_ADVICE[n] for n in names if n in _ADVICE), None)
    for name, reason in _REJECTIONS:
        if name in names:
            return OrderRejectedError(venue, call, reason, f"{text}; {advice}")
    if "BadSymbol" in names:
        return UnknownSymbolError(venue, call, f"{text}; {advice}")
    if "BaseError" in names:
        advice = advice or "the exchange refused the request; see its message"
        return HaltError(venue, call, f"{names[0]}: {text}; {advice}")
    return HaltError(venue, call, f"unexpected {names[0]}: {text}")


def call_with_retries(
    fn: Callable[[], T],
    *,
    venue: str,
    call: str,
    policy: RetryPolicy,
    redact: Callable[[str], str] = lambda s: s,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = random.random,
    retry_on: Iterable[type[VenueError]] = (RetryableError, BackoffError),
) -> T:
    """Run ``fn``; translate what it raises; retry the transient kinds with growing delays.
    After the last retry the translated error is raised (its kind tells the caller why)."""
    kinds = tuple(retry_on)
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            error = exc if isinstance(exc, VenueError) else translate(exc, venue, call, redact)
            if not isinstance(error, kinds) or attempt >= policy.retries:
                if error is exc:
                    raise
                raise error from None
            sleep(policy.delay(error, attempt, draw()))
            attempt += 1
