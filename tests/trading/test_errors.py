"""ccxt errors are translated once, at the venue boundary, into retry / back off / halt, and
retried exactly as often as the policy says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt
import pytest

from tests.trading.recorded import exchange, replay
from trading.venues.base import (
    BackoffError,
    HaltError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RetryableError,
    UnknownSymbolError,
    VenueError,
)
from trading.venues.ccxt_venue import CcxtVenue
from trading.venues.errors import RetryPolicy, call_with_retries, translate


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ccxt.NetworkError, RetryableError),
        (ccxt.RequestTimeout, RetryableError),
        (ccxt.ExchangeNotAvailable, RetryableError),
        (ccxt.OnMaintenance, RetryableError),
        (ccxt.InvalidNonce, RetryableError),
        (ccxt.DDoSProtection, BackoffError),
        (ccxt.RateLimitExceeded, BackoffError),
        (ccxt.AuthenticationError, HaltError),
        (ccxt.PermissionDenied, HaltError),
        (ccxt.AccountSuspended, HaltError),
        (ccxt.InsufficientFunds, OrderRejectedError),
        (ccxt.InvalidOrder, OrderRejectedError),
        (ccxt.OrderNotFound, OrderRejectedError),
        (ccxt.OrderImmediatelyFillable, OrderRejectedError),
        (ccxt.BadSymbol, UnknownSymbolError),
        (ccxt.BadRequest, HaltError),
        (ccxt.NotSupported, HaltError),
        (ccxt.ExchangeError, HaltError),
        (ValueError, HaltError),
    ],
)
def test_each_ccxt_error_maps_to_its_kind(error: type[Exception], kind: type[VenueError]) -> None:
    translated = translate(error("exchange said no"), "binance_main", "fetch_ohlcv", str)

    assert type(translated) is kind
    assert str(translated).startswith("binance_main.fetch_ohlcv: ")
    assert "exchange said no" in str(translated)


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (ccxt.AuthenticationError, "check the API key and secret"),
        (ccxt.PermissionDenied, "read-only keys cannot trade"),
        (ccxt.InsufficientFunds, "reduce size or fund it"),
        (ccxt.InvalidOrder, "check size, price, precision and limits"),
        (ccxt.BadSymbol, "fix the venue's instruments"),
    ],
)
def test_halting_errors_say_what_to_do(error: type[Exception], advice: str) -> None:
    assert advice in str(translate(error("no"), "v", "call", str))


def _failing(errors: list[Exception], result: str = "ok") -> Callable[[], str]:
    def fn() -> str:
        if errors:
            raise errors.pop(0)
        return result

    return fn


def test_transient_errors_are_retried_with_growing_delays_then_succeed() -> None:
    sleeps: list[float] = []
    fn = _failing([ccxt.RequestTimeout("t"), ccxt.NetworkError("n")])

    out = call_with_retries(
        fn,
        venue="v",
        call="c",
        policy=RetryPolicy(retries=4, base_delay=0.5, jitter=0.0),
        sleep=sleeps.append,
    )

    assert out == "ok"
    assert sleeps == [0.5, 1.0]


def test_rate_limits_back_off_longer_than_network_errors() -> None:
    sleeps: list[float] = []
    fn = _failing([ccxt.RateLimitExceeded("slow down")] * 2)

    call_with_retries(
        fn,
        venue="v",
        call="c",
        policy=RetryPolicy(retries=4, base_delay=0.5, backoff_delay=5.0, jitter=0.0),
        sleep=sleeps.append,
    )

    assert sleeps == [5.0, 10.0]


def test_retries_stop_after_the_policy_limit_with_the_translated_error() -> None:
    sleeps: list[float] = []
    calls = {"n": 0}

    def always_down() -> str:
        calls["n"] += 1
        raise ccxt.ExchangeNotAvailable("503")

    with pytest.raises(RetryableError, match=r"v\.c: transient failure"):
        call_with_retries(
            always_down, venue="v", call="c", policy=RetryPolicy(retries=3), sleep=sleeps.append
        )

    assert calls["n"] == 4  # the first try and three retries
    assert len(sleeps) == 3


def test_rejections_are_never_retried() -> None:
    calls = {"n": 0}

    def refused() -> str:
        calls["n"] += 1
        raise ccxt.InsufficientFunds("balance too low")

    with pytest.raises(OrderRejectedError, match="insufficient_funds"):
        call_with_retries(refused, venue="v", call="c", policy=RetryPolicy(), sleep=lambda s: None)

    assert calls["n"] == 1


def test_delays_are_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, backoff_delay=10.0, max_delay=30.0, jitter=0.0)

    assert policy.delay(BackoffError("v", "c", "m"), 5) == 30.0
    assert policy.delay(RetryableError("v", "c", "m"), 2) == 4.0


def test_the_venue_retries_reads_through_the_policy() -> None:
    answers: list[Any] = [ccxt.RequestTimeout("t"), ccxt.DDoSProtection("d")]
    recorded = replay({"balances": []})

    def handler(url: str, method: str, headers: Any, body: Any) -> Any:
        if answers:
            raise answers.pop(0)
        return recorded(url, method, headers, body)

    ex, network = exchange("binance", handler)
    sleeps: list[float] = []
    venue = CcxtVenue(
        "b",
        ex,
        ["BTC/USDT"],
        policy=RetryPolicy(retries=2, base_delay=1, backoff_delay=7, jitter=0.0),
        sleep=sleeps.append,
    )

    venue.fetch_balances()

    assert len(network.requests) == 3
    assert sleeps == [1, 14]


def test_order_creation_is_not_retried_on_a_timeout() -> None:
    """A timed-out order may have been accepted: resending could double it."""
    ex, network = exchange("binance", lambda *a: (_ for _ in ()).throw(ccxt.RequestTimeout("t")))
    venue = CcxtVenue("b", ex, ["SOL/USDT"], trading_enabled=True, sleep=lambda s: None)
    from trading.venues.base import OrderRequest

    with pytest.raises(OrderOutcomeUnknownError, match="fetch_order"):
        venue.create_order(OrderRequest("SOL/USDT", "buy", 0.05, "cid", "limit", 100.0))

    assert len(network.requests) == 1


def test_an_ip_ban_418_halts_at_once_instead_of_backing_off() -> None:
    """Binance answers 418 once an IP is banned; every further request prolongs the ban."""
    calls = {"n": 0}
    body = '{"code":-1003,"msg":"Way too many requests; IP banned until 1700000000000."}'

    def banned() -> str:
        calls["n"] += 1
        raise ccxt.DDoSProtection(f"binance GET https://api.binance.com/api/v3/klines 418 {body}")

    with pytest.raises(HaltError, match="banned this IP"):
        call_with_retries(banned, venue="v", call="c", policy=RetryPolicy(), sleep=lambda s: None)

    assert calls["n"] == 1


def test_retry_delays_are_jittered_within_the_policy_fraction() -> None:
    draws = iter([0.0, 0.5, 0.999])
    sleeps: list[float] = []
    fn = _failing([ccxt.RequestTimeout("t")] * 3)

    call_with_retries(
        fn,
        venue="v",
        call="c",
        policy=RetryPolicy(retries=4, base_delay=1.0, jitter=0.5),
        sleep=sleeps.append,
        draw=lambda: next(draws),
    )

    assert sleeps == pytest.approx([1.0, 2.0 * 0.75, 4.0 * (1 - 0.5 * 0.999)])
