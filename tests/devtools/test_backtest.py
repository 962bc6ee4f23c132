"""Spec of `make backtest` on the bundled sample project."""

from devtools.backtest import main


def test_the_sample_backtest_shows_the_outage_alert_and_its_resolution(
    capsys, monkeypatch, tmp_path
):
    """Over the 5 days before 17 Jul: the Receipt Uploaded alert on 15 Jul, then resolved."""
    monkeypatch.chdir(tmp_path)  # no .env: the bundled sample
    assert main(["--sample", "--days", "5"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "ALERT" in line or "RESOLVED" in line]
    assert len(lines) == 2
    assert lines[0].startswith("Wed 15 Jul 2026 ")
    assert "ALERT     Alert: Receipt Uploaded: no events since Wed 15 Jul 10:00" in lines[0]
    assert "RESOLVED  Resolved: Receipt Uploaded" in lines[1]
    assert "Mixpanel requests: 2;" in out


def test_an_unknown_rule_is_refused_with_the_known_names(capsys, monkeypatch, tmp_path):
    """--rule must name a rule of the alerts file (or watch:<event>)."""
    monkeypatch.chdir(tmp_path)
    assert main(["--sample", "--days", "2", "--rule", "nope"]) == 2
    assert "unknown rule ['nope']" in capsys.readouterr().out
