"""Queue: answers one /analytics command at its response_url, once (slack-commands queue)."""

import azure.functions as func

from shared.jobs.slash_command import run_command_job


def main(msg: func.QueueMessage) -> None:
    """Build the answer and post it; raises only when the queue should deliver it again."""
    run_command_job(msg.get_body().decode("utf-8", "replace"))
