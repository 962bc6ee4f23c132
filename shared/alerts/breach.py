"""Once per breach: moved to shared/delivery/breach.py (reports' failure streaks use it too)."""

from shared.delivery.breach import (
    NEVER,
    SEPARATOR,
    BreachState,
    Outcome,
    Phase,
    breach_key,
    states,
    step,
)

__all__ = ["NEVER", "SEPARATOR", "BreachState", "Outcome", "Phase", "breach_key", "states", "step"]
