"""From a venue leg to sendable orders: amounts and prices rounded to the market's steps,
minimums enforced, large legs sliced over time (TWAP), deterministic client order ids.

Rounding always goes toward zero in amount, so no order takes exposure beyond the target; what
rounding or a minimum leaves behind is reported as dropped, never silently added elsewhere.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from trading.costs import Style
from trading.execution.config import TwapConfig
from trading.execution.types import Dropped, PlannedOrder, base_min_amount, base_step
from trading.venues.base import Instrument, Side

_EPS = 1e-9


PINNED_PREFIX, _NEUTRAL = "keelp", "keeln"  # a pinned leg's ids, a venue-neutral leg's


def client_order_id(bar: datetime, instrument: str, venue: str, pinned: bool, slice_: int) -> str:
    """The same decision always yields the same id, so a rerun finds its order instead of
    sending a second one: derived from (bar, instrument, venue, pinned or not, slice) only, so
    neither the execution style nor the position of a venue in the router's list changes it.
    A pinned leg's id starts ``keelp``, a venue-neutral one's ``keeln`` (the ledger tells a
    pinned leg's fills from the id alone). 32 letters and digits: valid on OKX (alphanumeric
    ≤ 32), Binance and Bybit."""
    text = f"{bar.isoformat()}|{instrument}|{venue}|{'pinned' if pinned else 'neutral'}|{slice_}"
    return (PINNED_PREFIX if pinned else _NEUTRAL) + hashlib.sha256(text.encode()).hexdigest()[:27]


def is_pinned_order(client_order_id: str | None) -> bool:
    """Whether a Keel client order id is a pinned leg's (see ``client_order_id``)."""
    return bool(client_order_id) and str(client_order_id).startswith(PINNED_PREFIX)


def floor_to_step(amount: float, step: float) -> float:
    """The largest multiple of ``step`` not above ``amount`` (tolerant of float noise)."""
    if step <= 0.0:
        return amount
    units = math.floor(amount / step + _EPS)
    return _clean(units * step, step)


def price_to_step(price: float, step: float, side: Side) -> float:
    """A limit price on the price grid, on the passive side: buys down, sells up."""
    if step <= 0.0:
        return price
    units = price / step
    rounded = math.floor(units + _EPS) if side == "buy" else math.ceil(units - _EPS)
    return _clean(rounded * step, step)


def _clean(value: float, step: float) -> float:
    digits = max(0, -math.floor(math.log10(step)) + 2) if step > 0 else 12
    return round(value, min(digits, 15))


def below_minimum(amount: float, price: float, instrument: Instrument) -> str | None:
    """Why an amount cannot be sent on this market, or None."""
    if amount <= 0.0:
        return "zero after rounding"
    if amount + _EPS * max(amount, 1.0) < base_min_amount(instrument):
        return "below min_amount"
    if amount * price + 1e-9 < instrument.min_notional:
        return "below min_notional"
    return None


def slice_count(
    amount: float, price: float, instrument: Instrument, bar_volume_usd: float, twap: TwapConfig
) -> int:
    """How many TWAP slices a leg gets: one unless it is large against the bar's volume, never
    so many that a slice falls below the market's minimums."""
    if not bar_volume_usd > 0.0 or amount * price <= twap.threshold * bar_volume_usd:
        return 1
    wanted = max(1, twap.horizon_minutes // twap.interval_minutes)
    smallest = max(
        base_min_amount(instrument),
        base_step(instrument),
        instrument.min_notional / price if price > 0 else 0.0,
    )
    possible = int(amount / smallest + _EPS) if smallest > 0 else wanted
    return max(1, min(wanted, possible))


def leg_orders(
    *,
    bar: datetime,
    start: datetime,
    instrument: Instrument,
    side: Side,
    amount: float,
    price: float,
    pinned: bool,
    slices: int,
    style: Style,
    interval: timedelta,
    cost_usd: float = 0.0,
    rewards_usd: float = 0.0,
) -> tuple[list[PlannedOrder], list[Dropped]]:
    """A venue leg as orders: ``amount`` (already wanted, base units) rounded down to the step,
    split into (at most) ``slices`` equal slices on the step grid, fewer when a slice would fall
    below the market's minimums, the last taking the remainder; each
    slice may be sent ``interval`` after the previous one, the first at ``start``. ``pinned``:
    the leg belongs to a parent pinned to this venue (it goes into the ids and the drops)."""
    step = base_step(instrument)
    total = floor_to_step(amount, step)
    dropped: list[Dropped] = []
    if amount - total > _EPS * max(amount, 1.0):
        dropped.append(
            Dropped(
                instrument.symbol,
                instrument.venue,
                amount - total,
                "step remainder",
                "base",
                pinned,
            )
        )
    why = below_minimum(total, price, instrument)
    if why is not None:
        if total > 0.0:
            dropped.append(Dropped(instrument.symbol, instrument.venue, total, why, pinned=pinned))
        return [], dropped
    each = floor_to_step(total / slices, step)
    while slices > 1 and below_minimum(each, price, instrument) is not None:
        slices -= 1  # fewer, larger slices: every slice must be sendable on its own
        each = floor_to_step(total / slices, step)
    amounts = [each] * (slices - 1) + [_clean(total - each * (slices - 1), step)]
    limit = price_to_step(price, instrument.price_step, side)
    orders = [
        PlannedOrder(
            client_order_id=client_order_id(bar, instrument.symbol, instrument.venue, pinned, i),
            bar_ts=bar,
            instrument=instrument.symbol,
            venue=instrument.venue,
            side=side,
            amount=a,
            price=limit,
            style=style,
            pinned=pinned,
            slice=i,
            not_before=start + interval * i,
            kind=instrument.kind,
            expected_cost_usd=cost_usd * a / total,
            rewards_usd=rewards_usd * a / total,
        )
        for i, a in enumerate(amounts)
    ]
    return orders, dropped
