"""Live and paper trading: sessions, the order journal, reconciliation, the paper venue.

Backtrader-specific pieces (the live feed and broker) live in :mod:`bot.engine`; this package
holds the plain-Python parts they use.
"""
