"""The account assets, the point of control: ``account/sync`` reads every venue's balances,
positions, open orders and new fills into the account tables (one venue failing never blocks
the others); ``account/ledger`` values them from the freshest marks, snapshots equity per
venue and shows the trader's tables and an equity chart; a blocking check fails when a venue
is over its caps and names the transfer that fixes it."""

from datetime import timedelta
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    asset_check,
    define_asset_job,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from assets.resources import KeelResource
from trading.config import KeelConfig, PaperVenueConfig
from trading.text import counted
from trading.venues.kinds import account_venues

ACCOUNT_GROUP = "account"
SYNC_KEY = AssetKey([ACCOUNT_GROUP, "sync"])
LEDGER_KEY = AssetKey([ACCOUNT_GROUP, "ledger"])
ACCOUNT_JOB = "account_sync"


def sync_venues(keel: KeelResource, names: list[str]) -> tuple[list[Any], dict[str, str]]:
    """Sync each named venue into the account tables; a venue that fails is reported, the
    others are written."""
    from lake.account_view import newest_fill, write_sync
    from trading.account.sync import read_account
    from trading.timeframes import utc_now

    lake = keel.lake()
    results, failures = [], {}
    for name in names:
        try:
            read = read_account(keel.venue(name), newest_fill(lake, name), utc_now())
            results.append(write_sync(lake, read))
        except Exception as exc:  # one venue's failure must not block the others
            failures[name] = f"{type(exc).__name__}: {exc}"[:400]
    return results, failures


def load_ledger(keel: KeelResource) -> Any:
    """The consolidated view of the account tables, now."""
    from lake.account_view import load_view
    from trading.account.caps import caps_of
    from trading.timeframes import utc_now

    config = keel.config()
    return load_view(
        keel.lake(),
        caps_of(config.venues),
        config.data.timeframes,
        currency=config.account.currency,
        now=utc_now(),
        stale_after=timedelta(minutes=config.account.stale_minutes),
        mark_sources={v.name: v.market for v in config.venues if isinstance(v, PaperVenueConfig)},
    )


def account_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """The sync and ledger assets over every venue with an account."""
    names = [v.name for v in account_venues(config.venues)]

    @asset(
        key=SYNC_KEY,
        group_name=ACCOUNT_GROUP,
        kinds={"polars", "deltalake"},
        description="Balances, positions, open orders and new fills of "
        f"{counted(len(names), 'venue')} into account/* (fills incrementally from the newest "
        "stored one).",
    )
    def sync(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from trading.account.report import markdown_table

        results, failures = sync_venues(keel, names)
        if names and not results:
            raise RuntimeError("every venue failed to sync: " + "; ".join(failures.values()))
        for name, why in failures.items():
            context.log.warning(f"{name} did not sync: {why}")
        rows = [
            {
                "venue": r.venue,
                "balances": str(r.balances),
                "positions": str(r.positions),
                "open orders": str(r.open_orders),
                "new fills": str(r.new_fills),
                "rows changed": str(r.changed_rows),
            }
            for r in results
        ]
        rows += [
            {"venue": n, "balances": "FAILED", "positions": why, "open orders": "",
             "new fills": "", "rows changed": ""}
            for n, why in failures.items()
        ]  # fmt: skip
        return MaterializeResult(
            metadata={
                "venues": MetadataValue.md(markdown_table(rows)),
                "synced": len(results),
                "failed": len(failures),
                "new_fills": sum(r.new_fills for r in results),
            }
        )

    @asset(
        key=LEDGER_KEY,
        group_name=ACCOUNT_GROUP,
        deps=[SYNC_KEY],
        kinds={"polars", "deltalake"},
        description="Equity per venue and in total, free, used, debt, exposure per venue and "
        "asset, open orders, today's fills and fees, cap use; equity snapshot into "
        "account/equity.",
    )
    def ledger(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from lake.account_view import equity_curve, write_equity
        from trading.account.report import (
            asset_rows,
            cap_lines,
            markdown_table,
            open_order_rows,
            venue_rows,
        )

        view = load_ledger(keel)
        write_equity(keel.lake(), view)
        curve = equity_curve(keel.lake())
        metadata: dict[str, Any] = {
            "venues": MetadataValue.md(markdown_table(venue_rows(view))),
            "exposure_by_asset": MetadataValue.md(markdown_table(asset_rows(view))),
            "open_orders": MetadataValue.md(markdown_table(open_order_rows(view))),
            "caps": MetadataValue.md("\n".join(f"- {c}" for c in cap_lines(view)) or "all within"),
            "prices": MetadataValue.md("\n".join(f"- {p}" for p in view.problems) or "all fresh"),
            "total_equity": float(view.total_equity),
            "equity_curve": MetadataValue.md(_curve_markdown(curve)),
        }
        # One float per venue: Dagster plots each across materializations (the equity chart).
        for r in view.venues.iter_rows(named=True):
            metadata[f"equity_{r['venue']}"] = float(r["equity"])
        return MaterializeResult(metadata=metadata)

    return [sync, ledger]


def _curve_markdown(curve: Any, rows: int = 12) -> str:
    from trading.account.report import equity_frame

    wide = equity_frame(curve)
    if wide.is_empty():
        return "_no snapshots yet_"
    tail = wide.tail(rows)
    cols = tail.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in tail.iter_rows():
        cells = [f"{r[0]:%Y-%m-%d %H:%M}"] + ["-" if v is None else f"{v:,.0f}" for v in r[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def account_checks(config: KeelConfig) -> list[AssetChecksDefinition]:
    """The blocking per-venue caps check on the ledger."""

    @asset_check(
        asset=LEDGER_KEY,
        name="venues_within_caps",
        blocking=True,
        description="every venue's equity, share of equity and gross exposure within its caps",
    )
    def within_caps(context: AssetCheckExecutionContext, keel: KeelResource) -> AssetCheckResult:
        from trading.account.report import cap_lines

        view = load_ledger(keel)
        over = view.over_cap
        lines = cap_lines(view)
        return AssetCheckResult(
            passed=not over,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(lines) if lines else "every venue within its caps",
            metadata={
                "over": ", ".join(u.venue for u in over) or "none",
                "fix": MetadataValue.md("\n".join(f"- {c}" for c in lines) or "nothing to do"),
            },
        )

    return [within_caps]


def account_job() -> UnresolvedAssetJobDefinition:
    """Sync every venue's account and rebuild the ledger."""
    from dagster import AssetSelection

    return define_asset_job(
        ACCOUNT_JOB,
        selection=AssetSelection.groups(ACCOUNT_GROUP),
        description="Every venue's balances, positions, orders and fills, then the ledger.",
    )


def account_schedule(job: UnresolvedAssetJobDefinition, cron: str) -> ScheduleDefinition:
    """Sync on the configured cadence (every 5 minutes by default)."""
    return ScheduleDefinition(
        name="account_sync",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        description="Syncs every venue's account into the ledger.",
    )
