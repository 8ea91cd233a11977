"""Run ``python -m bot.features`` (see ``bot.features.check``)."""

import sys

from bot.features.check import main

sys.exit(main())
