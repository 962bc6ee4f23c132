"""Alerts: hourly checks of closed hours, the tracking watch, once-per-breach posts, backtests."""
