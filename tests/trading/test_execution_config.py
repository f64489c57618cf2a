"""The [risk], [routing] and [netting] sections: validated with the rest of keel.toml, and the
venue caps resolved into the router's and the gate's inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import small_config_dict
from trading.config import ConfigError, load_config, parse_config
from trading.configbase import CapsConfig
from trading.execution.inputs import venue_state


def test_shipped_keel_toml_loads_its_execution_sections() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "keel.toml")
    assert config.risk.max_order_notional_usd == 50_000.0
    assert config.routing.venues["sim_alpha"].tiers.taker[1] == (5_000_000.0, 0.0004)
    assert config.netting.capital(["x"]) == {"x": 10_000.0}


@pytest.mark.parametrize(
    "section",
    [
        {"routing": {"venues": {"nowhere": {}}}},
        {"risk": {"states": [{"scope": "venue", "name": "nowhere", "state": "HALTED"}]}},
    ],
)
def test_execution_config_naming_an_unknown_venue_is_rejected(
    section: dict[str, object], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="'nowhere', which is not configured"):
        parse_config({**small_config_dict(), **section}, tmp_path / "keel.toml")


def test_unknown_routing_key_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"routing.impact: unknown key"):
        parse_config({**small_config_dict(), "routing": {"impact": 2}}, tmp_path / "keel.toml")


def test_equity_cap_is_the_tighter_of_absolute_and_share() -> None:
    caps = CapsConfig(max_equity_usd=50_000.0, max_equity_share=0.2, max_gross_exposure_usd=9.0)
    state = venue_state(
        "v",
        equity_usd=1.0,
        gross_exposure_usd=2.0,
        pending_notional_usd=3.0,
        caps=caps,
        total_equity_usd=200_000.0,
        healthy=True,
    )
    assert (state.max_equity_usd, state.max_gross_exposure_usd) == (40_000.0, 9.0)
    bare = venue_state(
        "v",
        equity_usd=1.0,
        gross_exposure_usd=2.0,
        pending_notional_usd=3.0,
        caps=None,
        total_equity_usd=1.0,
        healthy=False,
    )
    assert (bare.max_equity_usd, bare.max_gross_exposure_usd, bare.healthy) == (None, None, False)
