"""Failure notices once per streak: moved to shared/delivery/streaks.py (no upward import)."""

from shared.delivery.streaks import PARTITION, failure_once, recovered, render_recovered

__all__ = ["PARTITION", "failure_once", "recovered", "render_recovered"]
