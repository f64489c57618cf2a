"""The ``[routing]`` config: how the router weighs impact against rewards, per-venue rewards
programs as data, what a resting (maker) order is expected to cost, and when large orders are
sliced over time (TWAP)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from trading.configbase import _Frozen

StyleChoice = Literal["maker", "taker", "auto"]


class FeeTiers(_Frozen):
    """Fee tiers by 30-day volume in ccxt's ``fees.trading.tiers`` shape: ``[[volume_usd,
    fee], ...]`` sorted by volume, the first at volume 0."""

    maker: tuple[tuple[float, float], ...] = ()
    taker: tuple[tuple[float, float], ...] = ()

    @field_validator("maker", "taker")
    @classmethod
    def _sorted_from_zero(
        cls, value: tuple[tuple[float, float], ...]
    ) -> tuple[tuple[float, float], ...]:
        if value and value[0][0] != 0:
            raise ValueError("the first tier must start at volume 0, e.g. [[0, 0.0005], ...]")
        volumes = [v for v, _ in value]
        if volumes != sorted(volumes) or len(set(volumes)) != len(volumes):
            raise ValueError("tiers must be sorted by strictly increasing volume")
        return value


class MakerModel(_Frozen):
    """What a resting (maker) order is expected to cost, so maker is not free money: within its
    wait it fills with ``fill_probability``, and a filled maker order is adversely selected (the
    price tends to move through it: ``adverse_selection_bps`` per USD filled); what does not fill
    crosses the spread as a taker at the end of the wait, paying taker fee, half spread and
    impact on the remainder. Neither half spread is earned: the fill happens at the touch."""

    fill_probability: float = Field(default=0.6, gt=0, le=1)
    adverse_selection_bps: float = Field(default=1.0, ge=0)


class VenueRewards(_Frozen):
    """One venue's fees and rewards program, as data. Instrument fees apply when no tiers are
    given. Points earned per USD of volume are valued at ``point_value_usd`` each."""

    tiers: FeeTiers = FeeTiers()
    volume_30d_usd: float = Field(default=0.0, ge=0)
    points_per_usd_maker: float = Field(default=0.0, ge=0)
    points_per_usd_taker: float = Field(default=0.0, ge=0)
    point_value_usd: float = Field(default=0.0, ge=0)
    half_spread_bps: float = Field(default=1.0, ge=0)
    impact_k: float = Field(default=0.5, ge=0)
    maker: MakerModel | None = Field(
        default=None, description="this venue's maker fill model (default: [routing.maker])"
    )


class TwapConfig(_Frozen):
    """Slice a venue leg over time when it is large against the venue's volume in one bar."""

    threshold: float = Field(
        default=0.01, gt=0, description="slice legs above this share of the bar's volume"
    )
    horizon_minutes: int = Field(default=60, gt=0)
    interval_minutes: int = Field(default=5, gt=0)
    mode: StyleChoice = Field(
        default="taker", description="style of the slices; auto: the style the router chose"
    )


class RoutingConfig(_Frozen):
    """Router weights: ``impact_weight`` > 1 spreads volume more, ``rewards_weight`` steers to
    rewards (0 ignores them); ``rewards_budget_usd_per_day`` is the most extra cost a day the
    router pays to earn rewards. ``style`` auto lets the router choose maker or taker per leg
    (both may share a venue), weighing the maker model and ``urgency_bps`` against taking."""

    style: StyleChoice = "taker"
    impact_weight: float = Field(default=1.0, ge=0)
    rewards_weight: float = Field(default=1.0, ge=0)
    rewards_budget_usd_per_day: float = Field(default=0.0, ge=0)
    tier_horizon_days: float = Field(
        default=30.0, gt=0, description="days a better fee tier is valued over"
    )
    maker: MakerModel = MakerModel()
    urgency_bps: float = Field(
        default=1.0,
        ge=0,
        description="expected cost of waiting for a maker fill: the price drift the signal "
        "expects over the wait, per USD of a maker leg",
    )
    venues: dict[str, VenueRewards] = Field(default_factory=dict)
    twap: TwapConfig = TwapConfig()
