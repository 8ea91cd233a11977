"""Model artifacts (checksummed, no pickle), the MLflow registry (champion / challenger) and its CLI.

Import the submodules you need; this package imports nothing heavy (MLflow loads only when used).

    bot.models.bundle      TrainedModel: fitted models per horizon + feature list, predicts from bars
    bot.models.artifacts   save_model / load_model (manifest + sha256 of every file, skops + XGBoost UBJ)
    bot.models.training    fit a TrainedModel on a purged window, evaluate it on another
    bot.models.tracking    MLflow set-up (telemetry off) and run logging
    bot.models.registry    registered models, versions, aliases, promote / rollback, load @champion
    python -m bot.models   list | promote | rollback | show
"""
