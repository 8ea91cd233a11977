"""Trading strategies: plain Python classes that run unchanged in backtests and live."""
