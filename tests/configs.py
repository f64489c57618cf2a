"""Config texts for tests: the smallest valid ``keel.toml`` around what a test is about."""

from __future__ import annotations


def one_sim_venue(instruments: list[str], extra: str = "") -> str:
    """A config with hourly bars from 2024 on one simulated venue, ``sim_a``, listing
    ``instruments``; ``extra`` (TOML tables) follows it."""
    listed = ", ".join(f'"{symbol}"' for symbol in instruments)
    return f"""
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[[venues]]
kind = "sim"
name = "sim_a"
instruments = [{listed}]
{extra}"""
