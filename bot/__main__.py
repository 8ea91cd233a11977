"""Run ``python -m bot``: the ``market-predictor`` command (see ``bot.main``)."""

import sys

from bot.main import main

sys.exit(main())
