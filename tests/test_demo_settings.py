"""`make demo` and its settings: real settings complete or absent, never half; flags that apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import demo
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE

SMALL = ["--days", "40", "--users", "400"]
SAMPLE_REPORTS = Path(__file__).parents[1] / "devtools" / "sample_reports.toml"
SETTINGS = (
    "MIXPANEL_USERNAME",
    "MIXPANEL_SECRET",
    "MIXPANEL_PROJECT_ID",
    "SLACK_WEBHOOK_URL",
    "METRICS_FILE",
    "COMPANY_NAME",
    "TIMEZONE",
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without .env, and none of the demo's settings in the environment."""
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _dotenv(folder: Path, **settings: str) -> None:
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))


def test_half_real_settings_are_an_error_naming_what_is_missing_never_the_sample(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .env without MIXPANEL_SECRET ran the sample under the user's company name: now exit 1."""
    _dotenv(workdir, MIXPANEL_USERNAME="svc.1a2b.mp-service-account", MIXPANEL_PROJECT_ID="31415",
            COMPANY_NAME="Acme")  # fmt: skip
    assert demo.main(SMALL) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "error: invalid settings: the real Mixpanel settings are incomplete: MIXPANEL_USERNAME, "
        "MIXPANEL_PROJECT_ID set but MIXPANEL_SECRET missing (in .env or the environment); "
        "set it, or run the bundled sample with ARGS=--sample\n"
    )
    assert "sample" not in captured.out.lower()
    assert not (workdir / "out").exists()


def test_a_bad_project_id_with_real_settings_is_reported_not_replaced_by_the_sample(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real settings are checked as the deployed app checks them: '²' is not a project id."""
    _dotenv(workdir, MIXPANEL_USERNAME="svc", MIXPANEL_SECRET="s3cret", MIXPANEL_PROJECT_ID="²",
            SLACK_WEBHOOK_URL="https://example.com/hook")  # fmt: skip
    assert demo.main(SMALL) == 1
    err = capsys.readouterr().err
    assert "MIXPANEL_PROJECT_ID must be the numeric project id (not the token), got '²'" in err
    assert "s3cret" not in err
    assert "Traceback" not in err


def test_a_bad_time_zone_is_reported_in_sample_mode_too(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample keeps the user's other settings: a bad one is named, not silently replaced."""
    _dotenv(workdir, TIMEZONE="Mars/Olympus_Mons")
    assert demo.main(SMALL) == 1
    assert capsys.readouterr().err == (
        "error: invalid settings: TIMEZONE must be an IANA time zone name like Europe/London, "
        "got 'Mars/Olympus_Mons'\n"
    )


def test_post_without_real_settings_is_an_error_not_ignored(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--post posts to .env's webhook: with the sample there is nothing real to post to."""
    with pytest.raises(SystemExit) as exited:
        demo.main(["--post", *SMALL])
    assert exited.value.code == 2
    assert "--post posts to the real Slack webhook in .env" in capsys.readouterr().err


def test_period_with_reports_is_an_error_not_ignored(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each [[report]] runs on its own cadence: --period beside --reports would be ignored."""
    with pytest.raises(SystemExit) as exited:
        demo.main(["--reports", "--period", "daily", *SMALL])
    assert exited.value.code == 2
    assert "--period does not apply with --reports" in capsys.readouterr().err


def test_period_with_a_metrics_file_of_reports_is_an_error_not_ignored(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same holds for a --metrics-file that holds [[report]]s."""
    assert demo.main(["--metrics-file", str(SAMPLE_REPORTS), "--period", "daily", *SMALL]) == 1
    assert capsys.readouterr().err == (
        "error: invalid settings: --period daily: the metrics file's [[report]]s each run on "
        "their own cadence (drop --period; add --report NAME to run one of them)\n"
    )


def test_the_sample_stays_available_explicitly_and_says_it_is_the_sample(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sample runs the bundled project even beside half-real settings, labelled as sample."""
    _dotenv(workdir, MIXPANEL_USERNAME="svc", COMPANY_NAME="Acme")
    assert demo.main(["--sample", "--period", "daily", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "Building the bundled sample Mixpanel project" in out
    assert "Acme (sample)" in out
