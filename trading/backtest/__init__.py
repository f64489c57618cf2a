"""The backtest engine: vectorized over bars × instruments, checked against a per-bar loop."""
