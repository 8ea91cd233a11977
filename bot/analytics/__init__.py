"""Performance statistics over equity curves and trades (empyrical underneath)."""
