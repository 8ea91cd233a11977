"""Position sizing and risk limits shared by backtests and live trading."""
