"""Client order ids each exchange accepts, and the ccxt parameters that carry them.

Keel derives ids deterministically (``derive_client_order_id``: ``k`` + 31 hex digits, valid
everywhere checked here). An id an exchange would refuse is re-encoded deterministically to one
it accepts, so the same decision always maps to the same exchange id, and lookups by client id
find the order again. Rules (exchange documentation, as enforced by each API):

- OKX ``clOrdId``: letters and digits, 1 to 32;
- Binance ``newClientOrderId``: ``^[.A-Z:/a-z0-9_-]{1,36}$``;
- Bybit ``orderLinkId``: letters, digits, ``-`` and ``_``, 1 to 36.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClientIdRule:
    """How one exchange takes a client order id through ccxt."""

    create_param: str  # the param ccxt's create_order reads
    lookup_param: str  # the param ccxt's fetch_order / cancel_order read
    pattern: re.Pattern[str]
    max_length: int
    realtime_lookup: bool = False  # bybit: ccxt's fetch_order sends orderId=None; ask /realtime


_ALNUM_32 = ClientIdRule("clientOrderId", "clientOrderId", re.compile(r"^[A-Za-z0-9]{1,32}$"), 32)
RULES: dict[str, ClientIdRule] = {
    "okx": ClientIdRule("clOrdId", "clOrdId", re.compile(r"^[A-Za-z0-9]{1,32}$"), 32),
    "binance": ClientIdRule(
        "newClientOrderId", "origClientOrderId", re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$"), 36
    ),
    "binanceusdm": ClientIdRule(
        "newClientOrderId", "origClientOrderId", re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$"), 36
    ),
    "bybit": ClientIdRule(
        "clientOrderId",
        "orderLinkId",
        re.compile(r"^[A-Za-z0-9_-]{1,36}$"),
        36,
        realtime_lookup=True,
    ),
}


def rule_for(exchange_id: str) -> ClientIdRule:
    """The exchange's rule; an unchecked exchange gets the strictest common form."""
    return RULES.get(exchange_id, _ALNUM_32)


def encode_client_order_id(client_order_id: str, exchange_id: str) -> str:
    """The id as the exchange will accept it: unchanged when valid, else ``k`` + hex digits of
    its hash, as long as the exchange allows (at most 32)."""
    rule = rule_for(exchange_id)
    if rule.pattern.match(client_order_id):
        return client_order_id
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()
    return "k" + digest[: min(rule.max_length, 32) - 1]
