"""The ledger's maths: valuation from one price source (stale and missing prices flagged,
never 1.0 or 0), equity net of debt, exposures, per-venue caps and the transfer that fixes a
breach, and the snapshot the router and risk gate read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading import frames
from trading.account.caps import CapUse, VenueCaps, cap_uses, transfers
from trading.account.ledger import build_view
from trading.account.snapshot import snapshot_from_view
from trading.account.valuation import MARKS_SCHEMA

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=5)
STALE = NOW - timedelta(hours=6)


def _balances(rows: list[tuple[str, str, float, float]]) -> pl.DataFrame:
    """(venue, asset, total, debt); all free."""
    return pl.DataFrame(
        {
            "venue": [r[0] for r in rows],
            "asset": [r[1] for r in rows],
            "free": [r[2] for r in rows],
            "used": [0.0 for _ in rows],
            "total": [r[2] for r in rows],
            "debt": [r[3] for r in rows],
            "synced_at": [NOW for _ in rows],
        },
        schema={**frames.BALANCES, "synced_at": pl.Datetime("us", "UTC")},
    )


def _positions(rows: list[tuple[str, str, float, float, float | None]]) -> pl.DataFrame:
    """(venue, symbol, size, entry, venue mark)."""
    return pl.DataFrame(
        {
            "venue": [r[0] for r in rows],
            "symbol": [r[1] for r in rows],
            "size": [r[2] for r in rows],
            "entry_price": [r[3] for r in rows],
            "mark_price": [r[4] for r in rows],
            "unrealized_pnl": [0.0 for _ in rows],
            "synced_at": [NOW - timedelta(hours=1) for _ in rows],
        },
        schema={**frames.POSITIONS, "synced_at": pl.Datetime("us", "UTC")},
    )


def _marks(rows: list[tuple[str, str, float, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=list(MARKS_SCHEMA), orient="row").cast(MARKS_SCHEMA)  # type: ignore[arg-type]


def _view(balances: pl.DataFrame, positions: pl.DataFrame, marks: pl.DataFrame, caps=None):  # type: ignore[no-untyped-def]
    return build_view(
        balances,
        positions,
        frames.empty(frames.ORDERS),
        frames.empty(frames.FILLS),
        marks,
        caps or {},
        currency="USDT",
        now=NOW,
        stale_after=timedelta(hours=3),
    )  # fmt: skip


def test_equity_is_balances_net_of_debt_at_their_marks_plus_position_pnl() -> None:
    balances = _balances([("a", "USDT", 10_000.0, 2_000.0), ("a", "BTC", 0.5, 0.1)])
    positions = _positions([("a", "ETH/USDT:USDT", -2.0, 3_000.0, None)])
    marks = _marks([("a", "BTC/USDT", 60_000.0, FRESH), ("a", "ETH/USDT:USDT", 3_100.0, FRESH)])

    view = _view(balances, positions, marks)
    row = view.venues.row(0, named=True)

    # 8,000 USDT + 0.4 BTC * 60,000 - 2 ETH * (3,100 - 3,000)
    assert row["equity"] == pytest.approx(8_000.0 + 24_000.0 - 200.0)
    assert row["debt"] == pytest.approx(2_000.0 + 0.1 * 60_000.0)
    assert row["gross_exposure"] == pytest.approx(24_000.0 + 6_200.0)
    assert row["net_exposure"] == pytest.approx(24_000.0 - 6_200.0)
    assert view.problems == ()


def test_a_stale_price_is_flagged_with_its_timestamp_and_a_missing_one_is_never_1_or_0() -> None:
    rows = [("a", "USDT", 1_000.0, 0.0), ("a", "BTC", 1.0, 0.0), ("a", "PEPE", 5.0, 0.0)]
    balances = _balances(rows)
    marks = _marks([("a", "BTC/USDT", 50_000.0, STALE)])

    view = _view(balances, _positions([]), marks)
    valued = {r["asset"]: r for r in view.balances.iter_rows(named=True)}

    assert (valued["BTC"]["value"], valued["BTC"]["problem"]) == (50_000.0, "stale price")
    assert valued["BTC"]["price_ts"] == STALE
    assert (valued["PEPE"]["price"], valued["PEPE"]["value"]) == (None, None)
    assert valued["PEPE"]["problem"] == "no price"
    assert view.venues["equity"].to_list() == [51_000.0]  # PEPE left out, and counted
    assert view.venues["unpriced"].to_list() == [1]
    assert "a BTC: stale price (price of 2024-06-01 06:00)" in view.problems
    assert "a PEPE: no price" in view.problems


def test_the_fresher_of_the_venues_mark_and_the_lakes_close_values_a_position() -> None:
    positions = _positions([("a", "BTC/USDT:USDT", 1.0, 50_000.0, 51_000.0)])  # venue: 1h ago
    fresh = _view(_balances([]), positions, _marks([("a", "BTC/USDT:USDT", 52_000.0, FRESH)]))
    old = _view(_balances([]), positions, _marks([("a", "BTC/USDT:USDT", 49_000.0, STALE)]))

    assert fresh.positions["mark"].to_list() == [52_000.0]
    assert old.positions["mark"].to_list() == [51_000.0]
    assert old.positions["mark_ts"].to_list() == [NOW - timedelta(hours=1)]


def test_a_venue_without_its_own_mark_uses_another_venues() -> None:
    balances = _balances([("b", "ETH", 2.0, 0.0)])

    view = _view(balances, _positions([]), _marks([("a", "ETH/USDT", 3_000.0, FRESH)]))

    assert view.venues["equity"].to_list() == [6_000.0]


def _use(venue: str, equity: float, allowed: float) -> CapUse:
    return CapUse(venue, equity, 0.0, 0.0, allowed, None, None, None)


def test_the_cap_check_names_the_transfer_that_fixes_it() -> None:
    equity = {"sim_alpha": 100_000.0, "sim_beta": 60_000.0, "sim_gamma": 52_400.0}
    caps = {
        "sim_alpha": VenueCaps(max_equity_usd=150_000.0),
        "sim_gamma": VenueCaps(max_equity_usd=40_000.0),
    }

    uses = cap_uses(equity, {}, caps)
    moves, unplaceable = transfers(uses, "USDT")

    assert [u.venue for u in uses if u.over] == ["sim_gamma"]
    assert [str(m) for m in moves] == ["move 12,400 USDT from sim_gamma to sim_beta"]
    assert unplaceable == 0.0


def test_a_share_cap_is_of_the_total_equity() -> None:
    uses = cap_uses({"a": 60.0, "b": 40.0}, {}, {"a": VenueCaps(max_equity_share=0.5)})
    moves, _ = transfers(uses, "USDT")

    assert uses[0].share_use == pytest.approx(1.2)
    assert [(m.source, m.target, round(m.amount, 9)) for m in moves] == [("a", "b", 10.0)]


def test_gross_exposure_over_its_cap_is_a_breach_a_transfer_cannot_fix() -> None:
    uses = cap_uses({"a": 10.0}, {"a": 300.0}, {"a": VenueCaps(max_gross_exposure_usd=200.0)})

    assert uses[0].over
    assert uses[0].gross_use == pytest.approx(1.5)
    assert transfers(uses, "USDT") == ([], 0)


def test_excess_no_venue_can_take_is_reported() -> None:
    uses = [_use("a", 100.0, 50.0), _use("b", 30.0, 40.0)]

    moves, unplaceable = transfers(uses, "USDT")

    assert [(m.target, m.amount) for m in moves] == [("b", 10.0)]
    assert unplaceable == pytest.approx(40.0)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 1e6),
            st.one_of(st.none(), st.floats(1, 1e6)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_transfers_conserve_equity_and_never_overfill_a_target(
    venues: list[tuple[float, float | None]],
) -> None:
    equity = {f"v{i}": e for i, (e, _) in enumerate(venues)}
    caps = {f"v{i}": VenueCaps(max_equity_usd=c) for i, (_, c) in enumerate(venues)}
    uses = cap_uses(equity, {}, caps)

    moves, unplaceable = transfers(uses, "USDT")

    after = dict(equity)
    for m in moves:
        after[m.source] -= m.amount
        after[m.target] += m.amount
    assert sum(after.values()) == pytest.approx(sum(equity.values()))
    allowed = {u.venue: u.allowed_equity for u in uses}
    excess_left = sum(max(0.0, after[v] - allowed[v]) for v in after)
    assert excess_left == pytest.approx(unplaceable, abs=1e-6)
    for m in moves:
        assert after[m.target] <= allowed[m.target] + 1e-6


def test_snapshot_carries_positions_in_base_units_with_marks_and_caps() -> None:
    positions = _positions([("a", "BTC/USDT:USDT", -0.25, 50_000.0, None)])
    marks = _marks([("a", "BTC/USDT:USDT", 52_000.0, FRESH)])
    caps = {"a": VenueCaps(max_equity_usd=1e6)}

    snap = snapshot_from_view(
        _view(_balances([("a", "USDT", 1e4, 0.0)]), positions, marks, caps), caps
    )

    line = snap.venues["a"].positions["BTC/USDT:USDT"]
    assert (line.size, line.mark, line.mark_ts) == (-0.25, 52_000.0, FRESH)
    assert snap.position("a", "BTC/USDT:USDT") == -0.25
    assert snap.position("a", "ETH/USDT:USDT") == 0.0
    assert snap.venues["a"].caps == VenueCaps(max_equity_usd=1e6)
    assert snap.total_equity == pytest.approx(1e4 - 0.25 * 2_000.0)


def _reference_equity(
    balances: list[tuple[str, str, float, float]],
    positions: list[tuple[str, str, float, float, float | None]],
    prices: dict[str, float],
) -> dict[str, float]:
    """Equity per venue the plain way: each balance net of debt at its price (skipped when
    unpriced), plus each position's size times (mark - entry)."""
    out: dict[str, float] = {}
    for venue, asset, total, debt in balances:
        price = 1.0 if asset == "USDT" else prices.get(asset)
        out[venue] = out.get(venue, 0.0) + (0.0 if price is None else (total - debt) * price)
    for venue, symbol, size, entry, _ in positions:
        mark = prices[symbol.split("/")[0]]
        out[venue] = out.get(venue, 0.0) + size * (mark - entry)
    return out


@given(
    balances=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["USDT", "BTC", "ETH", "PEPE"]),
            st.floats(0, 1e5),
            st.floats(0, 1e3),
        ),
        max_size=8,
        unique_by=lambda r: (r[0], r[1]),
    ),
    positions=st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["BTC/USDT:USDT", "ETH/USDT:USDT"]),
            st.floats(-10, 10).filter(lambda x: abs(x) > 1e-3),
            st.floats(1, 1e5),
            st.none(),
        ),
        max_size=4,
        unique_by=lambda r: (r[0], r[1]),
    ),
    btc=st.floats(1, 1e5),
    eth=st.floats(1, 1e4),
)
def test_view_equity_matches_a_plain_python_reference(
    balances: list[tuple[str, str, float, float]],
    positions: list[tuple[str, str, float, float, float | None]],
    btc: float,
    eth: float,
) -> None:
    marks = _marks(
        [
            ("a", "BTC/USDT", btc, FRESH),
            ("a", "ETH/USDT", eth, FRESH),
            ("a", "BTC/USDT:USDT", btc, FRESH),
            ("a", "ETH/USDT:USDT", eth, FRESH),
            ("b", "BTC/USDT:USDT", btc, FRESH),
            ("b", "ETH/USDT:USDT", eth, FRESH),
        ]
    )

    view = _view(_balances(balances), _positions(positions), marks)

    expected = _reference_equity(balances, positions, {"BTC": btc, "ETH": eth})
    got = dict(zip(view.venues["venue"], view.venues["equity"], strict=True))
    assert set(got) == set(expected)
    for venue, value in expected.items():
        assert got[venue] == pytest.approx(value, rel=1e-9, abs=1e-6)
