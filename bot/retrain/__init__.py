"""Retraining behind a promotion gate, and its scheduler for live sessions.

bot.retrain.gate       decide(champion_metrics, challenger_metrics, cfg.retrain) -> GateDecision
bot.retrain.job        run_retrain(cfg, bars=None, registry=None, dry_run=False) -> RetrainOutcome
bot.retrain.scheduler  RetrainScheduler (APScheduler cron, background thread), ModelSlot (swap at bar boundary)
bot.retrain.shadow     ShadowRecorder: the challenger's would-be orders, recorded and never sent
python -m bot.retrain --config CONFIG --out DIR   -> DIR/retrain.json
"""
