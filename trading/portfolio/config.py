"""The ``[netting]`` config: capital per strategy until the portfolio allocator sets it."""

from __future__ import annotations

from pydantic import Field

from trading.configbase import _Frozen


class NettingConfig(_Frozen):
    """USD capital each strategy's weights are a fraction of; strategies not named get
    ``default_capital_usd``."""

    default_capital_usd: float = Field(default=10_000.0, ge=0)
    capital_usd: dict[str, float] = Field(default_factory=dict)

    def capital(self, strategies: list[str]) -> dict[str, float]:
        """Capital of each named strategy."""
        return {s: self.capital_usd.get(s, self.default_capital_usd) for s in strategies}
