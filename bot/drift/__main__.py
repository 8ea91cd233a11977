"""Entry point of ``python -m bot.drift``."""

import sys

from bot.drift.cli import main

sys.exit(main())
