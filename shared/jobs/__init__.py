"""Every job the product runs, one module each, each a short shell: gather, decide, deliver.

scheduled_reports (the Daily/Weekly/BiWeekly/Monthly timers), alert_check (AlertCheck),
backtest (AlertBacktest). Each takes its settings and clients from shared/root.py (the one
composition root) and never reads the environment itself; the pure parts it calls stay in
their packages. See docs/layout.md, "Jobs".
"""
