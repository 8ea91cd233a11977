"""Drift detection that acts: data drift per feature (PSI, KS), prediction drift, performance decay.

bot.drift.stats     psi, ks (autocorrelation-aware), feature / data / prediction drift, performance decay
bot.drift.detector  drift_report(...) -> dict, decide_action(report, cfg.drift) -> DriftDecision
bot.drift.monitor   period_frame, DriftMonitor (live: last drift.window bars vs the training window)
bot.drift.html      render_html(report) -> self-contained drift.html
python -m bot.drift --config C --reference START:END --current START:END --out DIR
"""
