"""Ledger benchmark: sync 3 venues x 50 positions x 1,000 fills into the account tables and build
the consolidated view, against reading the same rows back with polars (``pl.read_delta``).

Measured in one run, printed as ratios (goal for the view: at most 3x the plain read):
(a) the first sync of every venue (validate everything, MERGE four tables per venue);
(b) a re-sync of the unchanged accounts (must commit nothing);
(c) building the consolidated view (read four tables + marks, value, aggregate, caps).

Run: ``make bench`` (or ``.venv/bin/python -m bench.ledger``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from bench.timing import best_of
from lake import catalog
from lake.account_view import load_view, write_sync
from lake.store import Lake
from trading import frames
from trading.account.caps import VenueCaps
from trading.account.sync import AccountRead

VENUES = ("v_alpha", "v_beta", "v_gamma")
POSITIONS, FILLS = 50, 1_000
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def account(venue: str, seed: int) -> AccountRead:
    """A venue's account: 50 perpetual positions, 1,000 fills, 20 open orders, 5 balances."""
    rng = np.random.default_rng(seed)
    symbols = [f"C{i:02d}/USDT:USDT" for i in range(POSITIONS)]
    stamp = pl.lit(NOW).cast(frames.UTC_TS).alias("synced_at")
    balances = pl.DataFrame(
        {
            "venue": venue,
            "asset": ["USDT", "BTC", "ETH", "SOL", "C00"],
            "free": rng.uniform(1, 1e4, 5),
            "used": rng.uniform(0, 1e3, 5),
            "debt": [0.0] * 5,
        }
    ).with_columns(total=pl.col("free") + pl.col("used"))
    positions = pl.DataFrame(
        {
            "venue": venue,
            "symbol": symbols,
            "size": rng.uniform(-5, 5, POSITIONS) + 0.01,
            "entry_price": rng.uniform(10, 100, POSITIONS),
            "mark_price": rng.uniform(10, 100, POSITIONS),
            "unrealized_pnl": rng.normal(0, 10, POSITIONS),
        }
    )
    orders = pl.DataFrame(
        {
            "venue": venue,
            "symbol": symbols[:20],
            "client_order_id": [f"k{venue}{i}" for i in range(20)],
            "order_id": [f"o{i}" for i in range(20)],
            "side": ["buy", "sell"] * 10,
            "type": "limit",
            "amount": rng.uniform(0.1, 2, 20),
            "price": rng.uniform(10, 100, 20),
            "filled": [0.0] * 20,
            "status": "open",
            "ts": [NOW - timedelta(minutes=i) for i in range(20)],
        }
    )
    fills = pl.DataFrame(
        {
            "venue": venue,
            "symbol": [symbols[i % POSITIONS] for i in range(FILLS)],
            "fill_id": [f"f{i}" for i in range(FILLS)],
            "order_id": [f"o{i}" for i in range(FILLS)],
            "client_order_id": [f"c{i}" for i in range(FILLS)],
            "side": ["buy", "sell"] * (FILLS // 2),
            "amount": rng.uniform(0.01, 1, FILLS),
            "price": rng.uniform(10, 100, FILLS),
            "fee": rng.uniform(0, 0.1, FILLS),
            "fee_asset": "USDT",
            "liquidity": ["maker", "taker"] * (FILLS // 2),
            "ts": [NOW - timedelta(minutes=i) for i in range(FILLS)],
        }
    )
    return AccountRead(
        venue,
        NOW,
        frames.conform(balances.with_columns(stamp), catalog.ACCOUNT_BALANCES),
        frames.conform(positions.with_columns(stamp), catalog.ACCOUNT_POSITIONS),
        frames.conform(orders, frames.ORDERS),
        frames.conform(fills, frames.FILLS),
    )


def main() -> None:
    """Print the timings and ratios."""
    reads = [account(v, i) for i, v in enumerate(VENUES)]
    caps: dict[str, VenueCaps | None] = {v: VenueCaps(max_equity_share=0.5) for v in VENUES}

    def fresh_sync() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            lake = Lake(tmp)
            for read in reads:
                write_sync(lake, read)

    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(tmp)
        for read in reads:
            write_sync(lake, read)
        specs = [
            catalog.account_balances(),
            catalog.account_positions(),
            catalog.account_orders(),
            catalog.account_fills(),
        ]
        versions = [lake.version(s) for s in specs]

        def resync() -> None:
            for read in reads:
                write_sync(lake, read)

        def view() -> None:
            load_view(
                lake,
                caps,
                ("1h",),
                currency="USDT",
                now=NOW + timedelta(minutes=1),
                stale_after=timedelta(hours=3),
            )

        def plain_read() -> None:
            for spec in specs:
                pl.read_delta(lake.uri(spec))

        first = best_of(3, fresh_sync)
        again = best_of(3, resync)
        unchanged = [lake.version(s) for s in specs] == versions
        built = best_of(5, view)
        baseline = best_of(5, plain_read)

    rows = len(VENUES) * (POSITIONS + FILLS + 20 + 5)
    print(f"ledger: {len(VENUES)} venues x {POSITIONS} positions x {FILLS} fills ({rows} rows)")
    print(f"  first sync of every venue  {first * 1000:8.1f} ms")
    print(f"  re-sync, nothing changed   {again * 1000:8.1f} ms  (commits nothing: {unchanged})")
    print(f"  consolidated view          {built * 1000:8.1f} ms")
    print(f"  polars read of the rows    {baseline * 1000:8.1f} ms")
    print(f"  view / read ratio          {built / baseline:8.2f}x  (goal <= 3x)")
    print(f"  first sync / read ratio    {first / baseline:8.2f}x")


if __name__ == "__main__":
    main()
