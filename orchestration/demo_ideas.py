"""The demo's ideas: about ten, at different stages, the built-in models among them, moved
through the real gates (two overridden with a small cap, as a trader in a hurry would); then
the pipeline and the regime report are printed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Seed:
    """A demo idea and how far the demo pushes it."""

    name: str
    hypothesis: str
    source: str
    tags: tuple[str, ...]
    target: str  # idea, research, paper or retired
    override: str | None = None


SEEDS: tuple[Seed, ...] = (
    Seed(
        "trend",
        "Weekly moves persist: trend-follow them, sized by their volatility.",
        "built-in; Moskowitz, Ooi, Pedersen (2012)",
        ("momentum", "time-series"),
        "paper",
        "demo: learn its live costs on paper while research goes on",
    ),
    Seed(
        "xs_momentum",
        "Last week's relative winners keep beating the losers.",
        "built-in; Jegadeesh, Titman (1993)",
        ("momentum", "cross-section"),
        "paper",
        "demo: diversifies trend on paper",
    ),
    Seed(
        "funding_carry",
        "Crowded perpetuals pay funding to whoever takes the other side.",
        "built-in",
        ("carry", "perpetuals"),
        "paper",
    ),
    Seed(
        "mean_reversion",
        "Stretched prices snap back within a day.",
        "built-in",
        ("reversal",),
        "paper",
    ),
    Seed(
        "basis",
        "Prices of one instrument across venues converge.",
        "built-in",
        ("arbitrage", "cross-venue"),
        "research",
    ),
    Seed(
        "max_effect",
        "Lottery-like coins (largest daily jump) underperform.",
        "built-in; Bali, Cakici, Whitelaw (2011)",
        ("anomaly", "cross-section"),
        "research",
    ),
    Seed(
        "liquidation_cascades",
        "Forced selling after large liquidations overshoots; fade it.",
        "trader's notebook",
        ("flows", "reversal"),
        "idea",
    ),
    Seed(
        "weekend_effect",
        "Thin weekend books make Monday-open moves revert.",
        "chat with a market maker",
        ("calendar",),
        "idea",
    ),
    Seed(
        "funding_spike_fade",
        "Extreme funding spikes precede reversals.",
        "research note",
        ("carry", "flows"),
        "idea",
    ),
    Seed(
        "stablecoin_mints",
        "Large stablecoin mints lead BTC by hours.",
        "newsletter",
        ("on-chain",),
        "retired",
    ),
)


def seed_ideas() -> bool:
    """Add the demo ideas that are not there yet and move them towards their targets;
    ideas already present (a second ``make demo``) are left as they are."""
    from orchestration import cli_ideas

    book = cli_ideas.idea_book()
    existing = set(book.ideas()["name"].to_list())
    for seed in SEEDS:
        if seed.name in existing:
            continue
        cli_ideas.add(seed.name, seed.hypothesis, seed.source, list(seed.tags))
        if seed.target == "retired":
            cli_ideas.retire(seed.name, "no reliable data source for mints")
        elif seed.target in ("research", "paper"):
            print(f"promote {seed.name} --to {seed.target}")
            code = cli_ideas.promote(seed.name, seed.target, research=False)
            if code != 0 and seed.override:
                print(f"promote {seed.name} --to {seed.target} --override {seed.override!r}")
                cli_ideas.promote(seed.name, seed.target, seed.override, research=False)
    return True


def seed_and_report() -> bool:
    """What ``make demo`` ends with: the seeded pipeline and the regime report."""
    from orchestration import cli_ideas

    print("\n== ideas pipeline")
    seed_ideas()
    cli_ideas.list_ideas()
    print("\n== regime report")
    return cli_ideas.report_regimes() == 0
