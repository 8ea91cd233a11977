"""Entry point of ``python -m bot.models``."""

import sys

from bot.models.cli import main

sys.exit(main())
