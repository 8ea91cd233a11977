"""Run ``python -m bot.data`` (see ``bot.data.cli``)."""

import sys

import bot.venues  # noqa: F401  (entry point: registers the venue-backed bar sources)
from bot.data.cli import main

sys.exit(main())
