"""Definitions load time with 200+ registered strategies (goal: at most 3 s), measured in a
fresh process against the load with the built-in strategies only.

Run: ``.venv/bin/python -m bench.definitions_load``.
"""

from __future__ import annotations

import subprocess
import sys
import time

LOAD = """
import time
began = time.perf_counter()
{setup}
from orchestration.definitions import defs
d = defs()
n = len(d.resolve_asset_graph().get_all_asset_keys())
from trading.models.registry import strategy_names
print(time.perf_counter() - began, len(strategy_names()), n)
"""

# 210 extra strategies: a 14 x 15 sweep of the trend model, registered before loading.
WIDE = """
from trading.models.registry import registered_models, _REGISTRY
from dataclasses import replace
trend = registered_models()["trend"]
_REGISTRY["trend"] = replace(trend, sweep={
    "scale": [0.05 * i for i in range(1, 15)],
    "min_strength": [0.1 * i for i in range(15)],
})
"""


def measure(setup: str) -> tuple[float, int, int]:
    """Seconds, strategies and asset keys of one cold load in a new interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD.format(setup=setup)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> None:
    began = time.perf_counter()
    base = min(measure("") for _ in range(3))
    wide = min(measure(WIDE) for _ in range(3))
    print(f"built-in: {base[1]} strategies, {base[2]} assets: {base[0]:.2f}s")
    print(f"wide:     {wide[1]} strategies, {wide[2]} assets: {wide[0]:.2f}s (goal <= 3 s)")
    print(
        f"    ratio wide/built-in = {wide[0] / base[0]:.2f}  ({time.perf_counter() - began:.0f}s)"
    )


if __name__ == "__main__":
    main()
