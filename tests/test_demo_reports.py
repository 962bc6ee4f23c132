"""`make demo ARGS=--reports`: every metric kind on the bundled sample, each report previewed."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from devtools import demo
from devtools.slack_standin import slack_rejection
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE

SMALL = ["--days", "40", "--users", "600"]
SAMPLE_REPORTS = Path(__file__).parents[1] / "devtools" / "sample_reports.toml"


@pytest.fixture
def clean_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No .env, no real settings, no destinations in the environment."""
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()
    for name in ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "MIXPANEL_PROJECT_ID", "SLACK_WEBHOOK_URL",
                 "METRICS_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_reports_demo_shows_every_metric_kind_in_its_unit(clean_dir, capsys):
    """Growth (daily), exec (weekly) and exec monthly: filters, sums, a rate, a breakdown."""
    assert demo.main(["--reports", *SMALL]) == 0
    out = capsys.readouterr().out
    for words in (
        "Growth daily report",
        "Exec weekly report",
        "Exec monthly report",
        "iOS signups",  # a filter
        "Signups by country (top country values",  # a breakdown
        "month to date:",
        "Basket value scanned",  # a sum in GBP
        "Average basket",
        " pts ",  # a rate's change in points
        "were skipped, not counted as 0",  # the data-quality note of a sum
    ):
        assert words in out, words
    assert "£" in out
    assert "%" in out
    for name in ("growth", "exec", "exec-monthly"):
        payload = json.loads((clean_dir / "out" / f"slack-message-{name}.json").read_text())
        assert slack_rejection(payload) is None


def test_the_demo_refuses_an_unknown_report_name(clean_dir, capsys):
    """--report names one of the file's reports."""
    assert demo.main(["--reports", "--report", "sales", *SMALL]) == 1
    assert "'sales' is not defined; configured: growth, exec, exec-monthly" in (
        capsys.readouterr().err
    )


def test_the_reports_demo_emails_the_report_that_has_recipients(clean_dir, capsys):
    """exec has email_to: out/email-exec.eml (its recipients, its metrics) and .html; growth
    has none, so no email of its own."""
    assert demo.main(["--reports", "--report", "exec", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "out/email-exec.eml" in out
    eml = message_from_bytes((clean_dir / "out" / "email-exec.eml").read_bytes(), policy=default)
    assert eml["To"] == "Ana Lima <ana.lima@example.com>, Board <board@example.com>"
    assert "Exec weekly report" in eml["Subject"]
    html = (clean_dir / "out" / "email-exec.html").read_text(encoding="utf-8")
    assert "Basket value scanned" in html
    assert "iOS signups" not in html
    assert demo.main(["--reports", "--report", "growth", *SMALL]) == 0
    assert not (clean_dir / "out" / "email-growth.eml").exists()
    assert not (clean_dir / "out" / "email.eml").exists()


def test_a_report_with_a_property_typo_is_named_and_the_others_still_run(clean_dir, capsys):
    """A property typo is seen only once gathered: it names the file and the report, and the
    reports after it still run (exit 1 at the end)."""
    text = SAMPLE_REPORTS.read_text(encoding="utf-8")
    average = text.index('key = "average_basket"')
    typo = text[:average] + text[average:].replace('property = "amount"', 'property = "amonut"', 1)
    metrics = clean_dir / "reports.toml"
    metrics.write_text(typo, encoding="utf-8")
    assert demo.main(["--metrics-file", str(metrics), *SMALL]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(
        f"error: report 'exec' failed: unknown event property: {metrics}: report 'exec': "
        "metric 'average_basket': property 'amonut' is on none of its "
    )
    assert "(did you mean 'amount'?)" in captured.err
    assert captured.err.count("error:") == 1
    assert "Growth daily report" in captured.out
    assert "Exec monthly report" in captured.out  # the report after the broken one ran
