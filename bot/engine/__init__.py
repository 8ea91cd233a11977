"""The one package that knows Backtrader: feeds, the strategy adapter and the backtest runner."""
