"""Venue kind ``ccxt``: a real exchange account through ccxt (spot or perpetual swaps)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from trading.configbase import VenueConfigBase
from trading.venues.base import Capabilities, Venue
from trading.venues.kinds.spec import Clock, VenueKind

if TYPE_CHECKING:
    from trading.config import KeelConfig


class CcxtVenueConfig(VenueConfigBase):
    """A real exchange account through ccxt. Credentials are the *names* of environment
    variables; their values never appear in this file, the repo, logs or the lake."""

    kind: Literal["ccxt"]
    exchange: str = Field(description="ccxt exchange id, e.g. binance, okx, bybit")
    market_type: Literal["spot", "swap"] = "spot"
    sandbox: bool = False
    trading_enabled: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    api_key_env: str | None = None
    secret_env: str | None = None
    password_env: str | None = None
    page_limit: int | None = Field(default=None, gt=0)
    balance_params: dict[str, Any] = Field(
        default_factory=dict, description='ccxt fetch_balance params, e.g. {type = "funding"}'
    )
    timeout_ms: int = Field(default=15_000, gt=0)

    @field_validator("api_key_env", "secret_env", "password_env")
    @classmethod
    def _looks_like_a_variable_name(cls, value: str | None) -> str | None:
        # The message never repeats the value: it may be a pasted credential.
        if value is not None and not is_variable_name(value):
            raise ValueError(
                "must name an environment variable (its NAME: capital letters, digits and "
                "underscores, words of at most 20 characters, e.g. BINANCE_API_KEY), not the "
                "credential itself; if you pasted a key here, revoke it and export it instead"
            )
        return value


_VARIABLE_NAME = re.compile(r"[A-Z][A-Z0-9]{0,19}(_[A-Z0-9]{1,20})*")


def is_variable_name(value: str) -> bool:
    """Whether ``value`` reads as an environment variable's name (``BINANCE_API_KEY``) rather
    than a credential: capital words joined by underscores, none longer than 20 characters,
    64 at most (exchange keys are long runs of mixed-case letters and digits)."""
    return len(value) <= 64 and _VARIABLE_NAME.fullmatch(value) is not None


# Order options of the exchanges Keel has checked against ccxt's request building; any other
# exchange is assumed to take plain GTC orders only until someone checks it.
_CHECKED_EXCHANGES = frozenset({"binance", "binanceusdm", "okx", "bybit"})


def _capabilities(venue: CcxtVenueConfig) -> Capabilities:
    checked = venue.exchange in _CHECKED_EXCHANGES
    return Capabilities(
        market_data=True,
        funding_history=venue.market_type == "swap",
        account=venue.api_key_env is not None,
        trading=venue.trading_enabled,
        post_only=checked,
        reduce_only=checked and venue.market_type == "swap",
        time_in_force=frozenset({"GTC", "IOC", "FOK"}) if checked else frozenset({"GTC"}),
    )


def _build(
    venue: CcxtVenueConfig, config: KeelConfig, state_dir: Path | None, clock: Clock
) -> Venue:
    from trading.venues.ccxt_venue import CcxtVenue

    return CcxtVenue(
        venue.name,
        build_ccxt_exchange(venue),
        venue.instruments,
        trading_enabled=venue.trading_enabled,
        page_limit=venue.page_limit,
        balance_params=venue.balance_params,
        capabilities=_capabilities(venue),
        clock=clock,
    )


def _listed(venue: CcxtVenueConfig, config: KeelConfig) -> None:
    check_ccxt_config(venue)
    return None  # the exchange's markets are checked when first loaded


def check_ccxt_config(venue: CcxtVenueConfig) -> None:
    """Offline checks of a ccxt venue: a known exchange id and symbols shaped for the market
    type (ccxt's unified form: ``BTC/USDT`` spot, ``BTC/USDT:USDT`` perpetual swap). Dated
    futures (``BTC/USDT:USDT-250627``) and options are refused: Keel has no kind for them, and
    taking them for spot would make their positions vanish."""
    import ccxt

    if venue.exchange not in ccxt.exchanges:
        close = [e for e in ccxt.exchanges if e.startswith(venue.exchange[:3])][:6]
        raise ValueError(
            f"exchange {venue.exchange!r} is not a ccxt exchange id"
            + (f"; did you mean one of {close}?" if close else "")
        )
    for symbol in venue.instruments:
        if ":" in symbol and "-" in symbol.split(":", 1)[1]:
            raise ValueError(
                f"instrument {symbol!r} is a dated future or an option; Keel trades spot and "
                "perpetual swaps only (e.g. BTC/USDT or BTC/USDT:USDT): remove it"
            )
        swap = ":" in symbol
        if swap and "/" in symbol and symbol.split(":")[1] == symbol.split("/")[0]:
            raise ValueError(
                f"instrument {symbol!r} is an inverse (coin-margined) swap; Keel supports linear "
                "swaps (e.g. BTC/USDT:USDT): remove it"
            )
        if "/" not in symbol or swap != (venue.market_type == "swap"):
            example = "BTC/USDT:USDT" if venue.market_type == "swap" else "BTC/USDT"
            raise ValueError(
                f"instrument {symbol!r} is not a unified {venue.market_type} symbol "
                f"(e.g. {example}); use one venue entry per market type"
            )


def build_ccxt_exchange(venue: CcxtVenueConfig) -> Any:
    """A configured ccxt exchange: rate limiting on, credentials from the environment."""
    import logging

    import ccxt

    from trading.venues.secrets import install_log_filter, read_credentials

    credentials = read_credentials(
        venue.name, venue.api_key_env, venue.secret_env, venue.password_env
    )
    # ccxt logs request headers (API keys) at DEBUG: keep its loggers above that, and filter.
    logging.getLogger("ccxt").setLevel(logging.INFO)
    install_log_filter()
    exchange = getattr(ccxt, venue.exchange)(
        {
            "enableRateLimit": True,
            "timeout": venue.timeout_ms,
            "options": {"defaultType": venue.market_type, **venue.options},
            **credentials.as_ccxt(),
        }
    )
    if venue.sandbox:
        exchange.set_sandbox_mode(True)
    return exchange


KIND = VenueKind("ccxt", "a real exchange through ccxt", _capabilities, _build, _listed)
