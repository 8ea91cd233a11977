"""Live monitoring: a thread-safe LiveState and its Prometheus exporter (/metrics, /health, /status).

bot.monitoring.state     LiveState (fed by the session or from its journal)
bot.monitoring.exporter  MetricsServer(state, host, port, stale_after).start() / .stop()
"""
