"""The Keel resource: config, lake and venues, handed to every asset that touches them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from assets.paths import sim_state_dir
from lake.store import Lake
from trading.config import KeelConfig, default_config_path, load_config
from trading.venues.base import Venue


@lru_cache(maxsize=4)
def _config(path: str) -> KeelConfig:
    return load_config(path)


class KeelResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where Keel's config, lake and simulated account state are; empty means the defaults
    (``$KEEL_CONFIG`` or keel.toml, ``$KEEL_LAKE`` or var/lake, ``$KEEL_SIM_STATE`` or var/sim)."""

    config_path: str = ""
    lake_root: str = ""
    sim_state_dir: str = ""
    # One venue object per run and venue: a ccxt venue loads its markets once, not per asset.
    _venues: dict[str, Venue] = PrivateAttr(default_factory=dict)

    def config(self) -> KeelConfig:
        """The validated config file."""
        return _config(self.config_path or str(default_config_path()))

    def lake(self) -> Lake:
        """The lake at the configured root."""
        return Lake(self.lake_root or None)

    def venue(self, name: str) -> Venue:
        """A venue built from its config entry."""
        from trading.venues.factory import build_venue

        if name not in self._venues:
            config = self.config()
            state = Path(self.sim_state_dir) if self.sim_state_dir else sim_state_dir()
            self._venues[name] = build_venue(config.venue(name), config, state_dir=state)
        return self._venues[name]
