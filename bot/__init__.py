"""Market Predictor: walk-forward ML signals backtested in Backtrader and traded live."""

__version__ = "0.1.0"
