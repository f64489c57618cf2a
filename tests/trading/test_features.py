"""Every registered feature, automatically: no look-ahead, and incremental computation with
the declared warm-up equals computing the whole history at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from trading.config import parse_config
from trading.features.inputs import feature_input
from trading.features.registry import compute_features, max_lookback, registered_features
from trading.venues.factory import build_venue

FEATURES = registered_features()
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 40
BARS = DAYS * 24


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    """40 days of hourly bars: two venues, spot and swap, with funding."""
    config = parse_config(
        {
            "data": {"history_start": "2024-01-01", "timeframes": ["1h"]},
            "simulation": {"seed": 3},
            "venues": [
                {
                    "kind": "sim",
                    "name": "a",
                    "instruments": ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"],
                },
                {"kind": "sim", "name": "b", "instruments": ["BTC/USDT", "SOL/USDT"]},
            ],
        },
        __import__("pathlib").Path("k.toml"),
    )
    end = START + timedelta(days=DAYS)
    candles, funding = [], []
    for venue_config in config.venues:
        venue = build_venue(venue_config, config)
        for symbol in venue_config.instruments:
            candles.append(venue.fetch_candles(symbol, "1h", START, end))
            if ":" in symbol:
                funding.append(venue.fetch_funding_rates(symbol, START, end))
    return feature_input(pl.concat(candles), pl.concat(funding), "1h")


def _same(got: pl.Series, want: pl.Series) -> bool:
    """Equal nulls, and values equal to 1e-12: rolling sums carry rounding from where they
    started, so a window started later may differ in the last bits."""
    if not got.is_null().equals(want.is_null()):
        return False
    diff = (got - want).abs().drop_nulls()
    scale = want.abs().drop_nulls().max() or 1.0
    return diff.is_empty() or float(diff.max()) <= 1e-12 * max(1.0, float(scale))  # type: ignore[arg-type]


def test_builtin_features_are_registered() -> None:
    expected = {
        "ret_1",
        "ret_24",
        "ret_168",
        "vol_24",
        "vol_168",
        "zscore_48",
        "momentum_720_24",
        "xs_momentum_rank",
        "volume_z_168",
        "funding_carry_72",
        "venue_basis",
        "max_daily_return_30d",
        "trend_strength_168",
    }
    assert expected <= set(FEATURES)


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_feature_never_looks_ahead(bars: pl.DataFrame, name: str) -> None:
    """Computed on a truncated history, a feature equals the head of the full-history result."""
    feature = FEATURES[name]
    full = compute_features(bars, [feature])  # inputs it builds on are computed too
    for cut in (BARS // 3, BARS // 2, BARS - 5):
        cutoff = START + timedelta(hours=cut)
        truncated = compute_features(bars.filter(pl.col("ts") < cutoff), [feature])

        head = full.filter(pl.col("ts") < cutoff)
        assert truncated.select(name).equals(head.select(name)), f"{name} looks ahead at {cut}"


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_incremental_days_with_declared_warmup_equal_the_full_computation(
    bars: pl.DataFrame, name: str
) -> None:
    feature = FEATURES[name]
    chosen = [feature]
    full = compute_features(bars, chosen)
    warmup = timedelta(hours=max_lookback(chosen))

    day = START + timedelta(days=35)
    window = bars.filter(pl.col("ts") >= day - warmup, pl.col("ts") < day + timedelta(days=1))
    incremental = compute_features(window, chosen).filter(pl.col("ts") >= day)

    expected = full.filter(pl.col("ts") >= day, pl.col("ts") < day + timedelta(days=1))
    assert _same(incremental[name], expected[name])
    assert expected[name].drop_nulls().len() > 0, f"{name} is all null after 35 days"


def test_funding_is_only_known_after_it_settles(bars: pl.DataFrame) -> None:
    perp = bars.filter(pl.col("venue") == "a", pl.col("symbol") == "BTC/USDT:USDT")

    # The 08:00 settlement becomes visible on the 07:00 bar, which closes at 08:00, not before.
    at_6 = perp.filter(pl.col("ts") == START + timedelta(hours=6))["funding_rate"][0]
    at_7 = perp.filter(pl.col("ts") == START + timedelta(hours=7))["funding_rate"][0]
    at_0 = perp.filter(pl.col("ts") == START)["funding_rate"][0]
    assert at_6 == at_0
    assert at_7 != at_0
    assert bars.filter(pl.col("symbol") == "ETH/USDT")["funding_rate"].null_count() == BARS


def test_venue_basis_is_zero_where_only_one_venue_lists_the_instrument(bars: pl.DataFrame) -> None:
    out = compute_features(bars, [FEATURES["venue_basis"]])

    eth = out.filter(pl.col("symbol") == "ETH/USDT")["venue_basis"]
    btc = out.filter(pl.col("symbol") == "BTC/USDT")["venue_basis"]
    assert eth.abs().max() == 0.0
    assert 0 < btc.abs().max() < 0.01  # type: ignore[operator]


def test_features_build_on_features_with_transitive_warmup(bars: pl.DataFrame) -> None:
    from trading.features.registry import Feature, total_lookback

    doubled = Feature(
        "double_strength",
        lambda: pl.col("trend_strength_168") * 2,
        0,
        inputs=("trend_strength_168",),
    )
    out = compute_features(bars, [doubled])

    direct = compute_features(bars, [FEATURES["trend_strength_168"]])
    assert out.columns == ["venue", "symbol", "ts", "date", "double_strength"]
    assert out["double_strength"].equals(direct["trend_strength_168"] * 2)
    assert total_lookback(doubled, {**FEATURES, "double_strength": doubled}) == 169
    assert max_lookback([FEATURES["xs_momentum_rank"]]) == 720


def test_an_unknown_input_or_a_cycle_names_the_feature() -> None:
    from trading.features.registry import Feature

    lost = Feature("lost", lambda: pl.col("nope"), 0, inputs=("nope",))
    a = Feature("a", lambda: pl.col("b"), 0, inputs=("b",))
    b = Feature("b", lambda: pl.col("a"), 0, inputs=("a",))

    with pytest.raises(ValueError, match="'lost' builds on 'nope', which is not registered"):
        compute_features(pl.DataFrame(), [lost])
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        compute_features(pl.DataFrame(), [a, b])
