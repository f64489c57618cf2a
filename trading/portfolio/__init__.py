"""Portfolio: allocation of capital across strategies, netting, the combined backtest."""
