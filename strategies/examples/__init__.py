"""Example plugins: strategies and features a user would keep in their own files.

Each is loaded by path from a config in ``config/examples/`` (``strategy.name: path/to/file.py:Class``),
exactly as a strategy outside this repository would be. See README "Write your own strategy".
"""
