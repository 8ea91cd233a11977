"""Run ``python -m bot.data`` (see ``bot.data.cli``)."""

import sys

from bot.data.cli import main

sys.exit(main())
