"""Portfolio: how the targets of many strategies combine into one book (netting, allocation)."""
