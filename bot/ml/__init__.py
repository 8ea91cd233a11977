"""Labels, models and walk-forward training that turn bars into out-of-sample signals."""
