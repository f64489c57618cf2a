"""The point of control on one screen: ``keel status`` text and the Dagster metadata tables.
Over-cap venues and stale or missing prices are marked so a trader sees them in five seconds."""

from __future__ import annotations

import polars as pl

from trading.account.caps import CapUse
from trading.account.ledger import LedgerView
from trading.text import counted

_RED, _YELLOW, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[0m"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _cap_cell(use: CapUse | None) -> str:
    if use is None:
        return "unsynced"
    if use.worst_use is None:
        return "no cap"
    return f"{_pct(use.worst_use)} OVER" if use.over else _pct(use.worst_use)


def venue_rows(view: LedgerView) -> list[dict[str, str]]:
    """One row of strings per venue, then the totals."""
    uses = {u.venue: u for u in view.caps}
    total = view.total_equity
    rows = []
    for r in view.venues.iter_rows(named=True):
        use = uses.get(r["venue"])
        flags = []
        if r["stale"]:
            flags.append(f"{r['stale']} stale")
        if r["unpriced"]:
            flags.append(f"{r['unpriced']} unpriced")
        rows.append(
            {
                "venue": r["venue"],
                "equity": _money(r["equity"]),
                "share": "-" if use is None else _pct(use.share),  # of real (not paper) equity
                "free": _money(r["free"]),
                "used": _money(r["used"]),
                "debt": _money(r["debt"]),
                "net exp": _money(r["net_exposure"]),
                "gross exp": _money(r["gross_exposure"]),
                "pos": str(r["positions"]),
                "orders": str(r["open_orders"]),
                "fills today": str(r["fills_today"]),
                "fees today": f"{r['fees_today']:,.2f}",
                "cap use": _cap_cell(use) if r["synced_at"] is None or use else "paper",
                "prices": ", ".join(flags) or "ok",
                "synced": "never" if r["synced_at"] is None else f"{r['synced_at']:%H:%M:%S}",
            }
        )
    v = view.venues
    rows.append(
        {
            "venue": "TOTAL",
            "equity": _money(total),
            "share": "100%" if total > 0 else "-",
            "free": _money(float(v["free"].sum())),
            "used": _money(float(v["used"].sum())),
            "debt": _money(float(v["debt"].sum())),
            "net exp": _money(float(v["net_exposure"].sum())),
            "gross exp": _money(float(v["gross_exposure"].sum())),
            "pos": str(int(v["positions"].sum())),
            "orders": str(int(v["open_orders"].sum())),
            "fills today": str(int(v["fills_today"].sum())),
            "fees today": f"{float(v['fees_today'].sum()):,.2f}",
            "cap use": "",
            "prices": "",
            "synced": "",
        }
    )
    return rows


def asset_rows(view: LedgerView, limit: int = 12) -> list[dict[str, str]]:
    """Net units and value per asset over every venue, largest gross first."""
    return [
        {
            "asset": r["asset"],
            "units": f"{r['units']:+,.6g}",
            "net value": _money(r["net_value"]),
            "gross value": _money(r["gross_value"]),
        }
        for r in view.assets.head(limit).iter_rows(named=True)
    ]


def cap_lines(view: LedgerView) -> list[str]:
    """Each breach and the transfer that fixes it."""
    out = []
    for use in view.over_cap:
        parts = []
        if use.equity_use is not None and use.equity_use > 1:
            parts.append(f"equity {_money(use.equity)} is {_pct(use.equity_use)} of its USD cap")
        if use.share_use is not None and use.share_use > 1:
            parts.append(f"holds {_pct(use.share)} of total equity ({_pct(use.share_use)} of cap)")
        if use.gross_use is not None and use.gross_use > 1:
            parts.append(
                f"gross exposure {_money(use.gross_exposure)} is {_pct(use.gross_use)} of its cap:"
                " reduce positions"
            )
        out.append(f"{use.venue} over cap: " + "; ".join(parts))
    out += [str(t) for t in view.transfers]
    if view.unplaceable > 0:
        out.append(
            f"{_money(view.unplaceable)} {view.currency} has no venue with room: raise a cap "
            "or add a venue"
        )
    return out


def table_text(rows: list[dict[str, str]]) -> str:
    """A plain fixed-width table (first column left-aligned, numbers right-aligned)."""
    if not rows:
        return "(none)"
    cols = list(rows[0])
    width = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}

    def line(values: dict[str, str]) -> str:
        return "  ".join(
            values[c].ljust(width[c]) if i == 0 else values[c].rjust(width[c])
            for i, c in enumerate(cols)
        ).rstrip()

    header = line({c: c for c in cols})
    return "\n".join([header, "-" * len(header), *(line(r) for r in rows)])


def status_text(view: LedgerView, color: bool = False) -> str:
    """The whole ``keel status`` screen."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    venues = table_text(venue_rows(view))
    if color:
        venues = "\n".join(
            paint(line, _RED)
            if "OVER" in line
            else paint(line, _YELLOW)
            if "stale" in line or "unpriced" in line
            else line
            for line in venues.splitlines()
        )
    head = (
        f"Keel status  {view.now:%Y-%m-%d %H:%M:%S} UTC  equity {_money(view.total_equity)} "
        f"{view.currency} over {counted(view.venues.height, 'venue')}"
    )
    parts = [paint(head, _BOLD), "", venues, "", "Exposure by asset", table_text(asset_rows(view))]
    caps = cap_lines(view)
    parts += ["", paint("Caps", _BOLD)] + (
        [paint(c, _RED) for c in caps] if caps else ["every venue within its caps"]
    )
    if view.problems:
        parts += ["", paint("Prices and syncs", _BOLD)]
        parts += [paint(p, _YELLOW) for p in view.problems]
    if view.venues.height and view.venues["synced_at"].is_null().all():
        parts += ["", "no venue synced yet: run `keel status --sync` (or `make demo`)"]
    return "\n".join(parts)


def markdown_table(rows: list[dict[str, str]]) -> str:
    """The same rows as a Markdown table (Dagster asset metadata)."""
    if not rows:
        return "_none_"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def open_order_rows(view: LedgerView, limit: int = 20) -> list[dict[str, str]]:
    """Open orders, newest first."""
    return [
        {
            "venue": o["venue"],
            "symbol": o["symbol"],
            "side": o["side"],
            "amount": f"{o['amount']:,.6g}",
            "filled": f"{o['filled']:,.6g}",
            "price": "-" if o["price"] is None else f"{o['price']:,.6g}",
            "client id": o["client_order_id"] or "-",
        }
        for o in view.open_orders.sort("ts", descending=True).head(limit).iter_rows(named=True)
    ]


def equity_frame(curve: pl.DataFrame) -> pl.DataFrame:
    """Equity per venue over time, one column per venue (for charts)."""
    if curve.is_empty():
        return curve
    return curve.pivot(on="venue", index="ts", values="equity").sort("ts")
