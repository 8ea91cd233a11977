"""Entry point of ``python -m bot.retrain``."""

import sys

from bot.retrain.cli import main

sys.exit(main())
