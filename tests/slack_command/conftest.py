"""The slash command's end-to-end fixture (tests/slack_command/slash_harness.py)."""

from tests.slack_command.slash_harness import slash

__all__ = ["slash"]
