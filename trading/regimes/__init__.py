"""Market regimes from BTC (trend × volatility) and the per-regime report of every strategy."""
