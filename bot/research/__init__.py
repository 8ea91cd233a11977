"""Research commands: fast out-of-sample evaluation and Optuna tuning, without Backtrader.

python -m bot.research.evaluate --config FILE [--set key=value] [--out DIR]
python -m bot.research.tune --config FILE --trials N [--storage URL] [--study NAME] [--out DIR]
"""
