"""The /analytics slash command: verify, parse, acknowledge, answer from a queue, history."""
