"""The ledger: every venue's balances, positions, orders and fills, valued from one price
source and checked against per-venue caps. Pure: no Dagster, no lake."""
