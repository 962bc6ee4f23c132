"""`make bench`: Mixpanel requests, wall time, import time and export memory, vs baselines.

Everything runs on the loopback against the Mixpanel stand-in with injected latency; each
figure is printed beside a baseline measured in the same run, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from bench.budget_overhead import bench_budget_overhead
from bench.fresh_instances import bench_fresh_instances
from bench.reports_budget import bench_reports_budget
from bench.sources import bench_sources
from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import ALL_EVENTS, SAMPLE_TIMEZONE, RawEvent, sample_project
from shared.pipeline import ReportContext, produce_report
from shared.render.report_json import report_to_json
from shared.report.metrics import Measure, MetricsConfig, MetricSpec, load_metrics
from shared.schedule.periods import PeriodKind, Window, report_period
from shared.settings import DEFAULT_EXPORT_MAX_EVENTS, DEFAULT_METRICS_FILE
from shared.sources.mixpanel_client import MixpanelClient, NamesCache
from shared.sources.uniques import UniqueTally
from tests.standin_client import standin_client

LONDON = ZoneInfo(SAMPLE_TIMEZONE)
USER, SECRET, PROJECT = "bench", "bench-secret", "1"


def client(origin: str, cache: NamesCache | None = None) -> MixpanelClient:
    return standin_client(
        origin,
        username=USER,
        secret=SECRET,
        project_id=PROJECT,
        session=requests.Session(),
        names_cache=cache,
    )


def thirty_metrics() -> MetricsConfig:
    names = [e for e in ALL_EVENTS if not e.startswith("$")]
    metrics = [MetricSpec("active_users", "Active users", ":bust:", ("*",), Measure.UNIQUE)]
    for i in range(29):
        name = names[i % len(names)]
        measure = Measure.UNIQUE if i >= len(names) else Measure.TOTAL
        metrics.append(MetricSpec(f"m{i}", f"{name} ({measure})", ":x:", (name,), measure))
    return MetricsConfig(tuple(metrics))


def baseline_report(origin: str, config: MetricsConfig, today: date) -> None:
    """The obvious design: per metric, one query per window, one after another; then top events."""
    session = requests.Session()
    period = report_period(PeriodKind.WEEKLY, today)
    auth = (USER, SECRET)
    for metric in config.metrics:
        events = [e for e in metric.events if e != "*"] or ["App Opened"]
        for window in (period.current, period.comparisons[0].window):
            session.get(
                f"{origin}/api/query/events",
                auth=auth,
                timeout=30,
                params={
                    "project_id": PROJECT,
                    "event": json.dumps(events),
                    "type": "unique" if metric.measure is Measure.UNIQUE else "general",
                    "unit": "day",
                    "from_date": window.start.isoformat(),
                    "to_date": window.end.isoformat(),
                },
            ).raise_for_status()
    names = session.get(
        f"{origin}/api/query/events/names",
        auth=auth,
        timeout=30,
        params={"project_id": PROJECT, "type": "general"},
    ).json()
    session.get(
        f"{origin}/api/query/events",
        auth=auth,
        timeout=30,
        params={
            "project_id": PROJECT,
            "event": json.dumps(names),
            "type": "general",
            "unit": "day",
            "from_date": period.current.start.isoformat(),
            "to_date": period.current.end.isoformat(),
        },
    ).raise_for_status()


def bench_report(latency: float) -> None:
    today = datetime.now(UTC).astimezone(LONDON).date()
    events = sample_project(end=today - timedelta(days=1), days=35, users=1500)
    print(f"\n## One weekly report with comparison ({latency * 1000:.0f} ms per request)")
    print(f"{'metrics':>8} {'design':>22} {'baseline':>22} {'ratio':>14}")
    for label, config in (("6", load_metrics(DEFAULT_METRICS_FILE)), ("30", thirty_metrics())):
        with MixpanelStandIn(
            events, username=USER, secret=SECRET, project_id=PROJECT, latency=latency
        ) as standin:
            ctx = ReportContext(config, "Bench", LONDON, "https://mixpanel.com/project/1")
            started = time.perf_counter()
            produce_report(
                report_period(PeriodKind.WEEKLY, today),
                ctx,
                mixpanel=client(standin.origin),
                now=datetime.now(UTC),
            )
            design_s = time.perf_counter() - started
            design_n, peak = len(standin.requests), standin.max_in_flight
        with MixpanelStandIn(
            events, username=USER, secret=SECRET, project_id=PROJECT, latency=latency
        ) as standin:
            started = time.perf_counter()
            baseline_report(standin.origin, config, today)
            base_s = time.perf_counter() - started
            base_n = len(standin.requests)
        print(
            f"{label:>8} {design_n:>4} req {design_s:6.2f} s "
            f"({design_s / latency:4.1f} RT) {base_n:>4} req {base_s:6.2f} s "
            f"({base_s / latency:4.1f} RT)  req x{design_n / base_n:.2f} time "
            f"x{design_s / base_s:.2f}   (peak concurrency {peak})"
        )


def small_project() -> tuple[date, list[RawEvent], ReportContext]:
    """Today in London, five weeks of a 300-user sample project, the default metrics."""
    today = datetime.now(UTC).astimezone(LONDON).date()
    events = sample_project(end=today - timedelta(days=1), days=35, users=300)
    ctx = ReportContext(load_metrics(DEFAULT_METRICS_FILE), "Bench", LONDON, "https://x")
    return today, events, ctx


def bench_resilience() -> None:
    """The first answers are 429, 429, 503: the report must come out exactly as undisturbed."""
    today, events, ctx = small_project()
    period = report_period(PeriodKind.WEEKLY, today)
    now = datetime.now(UTC)
    figures = []
    for disturbed in (False, True):
        with MixpanelStandIn(events, username=USER, secret=SECRET, project_id=PROJECT) as stand:
            if disturbed:
                stand.fail_next(429, times=2, retry_after="1")
                stand.fail_next(503, times=1)
            started = time.perf_counter()
            report = produce_report(period, ctx, mixpanel=client(stand.origin), now=now)
            elapsed = time.perf_counter() - started
            figures.append(report_to_json(report))
            requests_made = len(stand.requests)
    print("\n## First answers 429 (Retry-After: 1), 429, 503")
    print(
        f"report identical to an undisturbed one: {figures[0] == figures[1]}; "
        f"{requests_made} requests (3 answered, 3 refused), {elapsed:.1f} s"
    )


def bench_hourly_budget() -> None:
    """A morning: daily, weekly and bi-weekly at 9:00 plus 20 ad-hoc reports, one warm host."""
    today, events, ctx = small_project()
    cache = NamesCache()
    kinds = [PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.BIWEEKLY] + [PeriodKind.WEEKLY] * 20
    with MixpanelStandIn(events, username=USER, secret=SECRET, project_id=PROJECT) as standin:
        for kind in kinds:
            produce_report(
                report_period(kind, today),
                ctx,
                mixpanel=client(standin.origin, cache),
                now=datetime.now(UTC),
            )
        query = sum(1 for r in standin.requests if r.path.startswith("/api/query"))
        export = sum(1 for r in standin.requests if r.path.startswith("/api/2.0/export"))
    naive = len(kinds) * 3
    print("\n## A morning: 3 scheduled + 20 ad-hoc reports (limits: 60/hour each API)")
    print(
        f"Query API {query}/60, Export API {export}/60; without the names cache the Query "
        f"API would take {naive - export}/60 (ratio x{query / (naive - export):.2f})"
    )


def bench_alert_budget() -> None:
    """A day of hourly AlertCheck fires plus the three 9:00 reports: Query API calls per hour."""
    from bench.alerts_budget import with_derived_rules
    from shared.alerts.check import AlertContext, run_alert_check
    from shared.delivery.ledger import InMemoryLedger
    from shared.render.alert_message import render_alert, render_resolved
    from shared.render.slack import SlackMessage

    class Drop:
        destination = "bench"

        def post(self, message: SlackMessage) -> None:
            """Posts nothing: only the request count matters here."""

    today, events, ctx = small_project()
    # The watch, plus 4 rules on filtered, unique, summed and formula metrics.
    metrics, config = with_derived_rules(ctx.config)
    alerts = AlertContext(config, metrics, LONDON, "Bench", render_alert, render_resolved)
    day = today - timedelta(days=1)
    ledger = InMemoryLedger()
    per_hour: list[int] = []
    exports: list[int] = []
    with MixpanelStandIn(events, username=USER, secret=SECRET, project_id=PROJECT) as standin:
        for hour in range(24):
            before = len(standin.requests)
            now = datetime(day.year, day.month, day.day, hour, 15, tzinfo=LONDON)
            # A cold host every hour (no names cache): the worst case.
            run_alert_check(
                alerts, now=now, source=client(standin.origin), poster=Drop(), ledger=ledger
            )
            if hour == 9:
                for kind in (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.BIWEEKLY):
                    produce_report(
                        report_period(kind, today), ctx, mixpanel=client(standin.origin), now=now
                    )
            per_hour.append(
                sum(1 for r in standin.requests[before:] if r.path.startswith("/api/query"))
            )
            exports.append(sum(1 for r in standin.requests[before:] if "export" in r.path))
            if hour == 0:
                hourly = [r for r in standin.requests[before:] if r.query.get("unit") == "hour"]
                watched = len(json.loads(hourly[0].query.get("event", "[]")))
    naive = watched + 1  # one /events per watched event, plus the names
    print("\n## A day of hourly alert checks + the 9:00 reports (Query API limit: 60/hour)")
    print(
        f"{watched} watched events; Query API calls per check: {per_hour[0]} (one hourly "
        f"/events for every event + /events/names); busiest hour {max(per_hour)}/60; whole day "
        f"{sum(per_hour)}; one /events per event would cost {naive} per check "
        f"(ratio x{per_hour[0] / naive:.2f})"
    )
    print(
        f"4 rules on filtered/unique/sum/formula metrics: Export API calls per check "
        f"{exports[0]} (one for them all), busiest hour {max(exports)}/60, whole day "
        f"{sum(exports)}; one export per rule would cost {len(config.rules)} per check"
    )


def bench_imports(runs: int) -> None:
    """Every function folder's import cost over `import azure.functions` (the worker's own)."""

    def once(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
        return time.perf_counter() - started

    # Byte-compile first, as a deployed app is: this machine sets PYTHONDONTWRITEBYTECODE.
    modules = tuple(sorted(p.parent.name for p in Path().glob("*/function.json")))
    folders = ["shared", *modules]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)  # noqa: S603
    probe = (
        "import time, azure.functions; t = time.perf_counter(); import {}; "
        "print(time.perf_counter() - t)"
    )

    def added(module: str) -> float:
        """Seconds `import module` adds in a process that has imported azure.functions."""
        out = subprocess.run(  # noqa: S603 - our own interpreter and module names
            [sys.executable, "-c", probe.format(module)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return float(out)

    best: dict[str, float] = {}
    # Interleaved, best of `runs`: a shared, noisy machine slows runs, never speeds them up.
    for _ in range(runs):
        best["pass"] = min(best.get("pass", float("inf")), once("pass"))
        best["worker"] = min(best.get("worker", float("inf")), once("import azure.functions"))
        for module in modules:
            best[module] = min(best.get(module, float("inf")), added(module))
    bare, worker = best["pass"], best["worker"]
    print(
        f"\n## Import time (best of {runs}; python -c pass = {bare * 1000:.0f} ms, "
        f"python -c 'import azure.functions' = {worker * 1000:.0f} ms)"
    )
    for module in modules:
        print(
            f"{module:>18}: +{best[module] * 1000:5.1f} ms over azure.functions "
            f"(x{(worker + best[module]) / worker:.2f} of the worker's own import)"
        )


class _Lines(BaseHTTPRequestHandler):
    lines = 0

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        start = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())
        batch = []
        for i in range(self.lines):
            record = {
                "event": f"Event {i % 40}",
                "properties": {
                    "time": (start + i * 2) * 1000,  # time_in_ms=true, as the client asks
                    "distinct_id": f"user-{i % 5000}",
                    "$insert_id": str(i),
                },
            }
            batch.append(json.dumps(record) + "\n")
            if len(batch) == 2000:
                self._chunk("".join(batch).encode())
                batch = []
        self._chunk("".join(batch).encode())
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(lines: int) -> Iterator[str]:
    handler = type("Handler", (_Lines,), {"lines": lines})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def bench_export(lines_small: int, lines_large: int) -> None:
    window = Window(date(2026, 1, 1), date(2026, 12, 31))

    def streamed(lines: int, *, trace: bool) -> tuple[float, float]:
        """(peak MiB if traced, lines per second) of the real client reading `lines`."""
        for origin in _serve(lines):
            mp = client(origin)
            mp._export_url = f"{origin}/export"  # point the real client at this server
            if trace:  # tracemalloc slows every allocation: rates are measured untraced
                tracemalloc.start()
            started = time.perf_counter()
            result = mp.unique_users(
                lambda: UniqueTally(
                    [window], {"all": None}, timezone=LONDON, qualifying=lambda e: True
                ),
                from_date=window.start,
                to_date=window.end,
            )
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if trace else 0
            tracemalloc.stop()
            assert result.lines == lines
            return peak / 2**20, lines / elapsed
        raise AssertionError

    def whole_body(lines: int) -> float:
        for origin in _serve(lines):
            tracemalloc.start()
            text = requests.get(f"{origin}/export", timeout=60).text
            users = {json.loads(line)["properties"]["distinct_id"] for line in text.splitlines()}
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert len(users) == 5000
            return peak / 2**20
        raise AssertionError

    small_mem, _ = streamed(lines_small, trace=True)
    large_mem, _ = streamed(lines_large, trace=True)
    _, rate = streamed(lines_large, trace=False)
    base_mem = whole_body(lines_large)
    print(f"\n## Raw export, streamed line by line ({lines_small:,} vs {lines_large:,} lines)")
    print(
        f"peak memory {small_mem:.1f} MiB vs {large_mem:.1f} MiB (x{large_mem / small_mem:.2f} "
        f"for x{lines_large / lines_small:.0f} the lines); reading the whole body instead: "
        f"{base_mem:.1f} MiB (streamed uses x{large_mem / base_mem:.2f})"
    )
    print(
        f"throughput {rate:,.0f} lines/s, parsing included, with the loopback server "
        "generating the lines in the same process"
    )


@dataclass(frozen=True)
class Case:
    """One benchmark: its name, about how long it takes, and the call that prints its figures."""

    name: str
    expected_seconds: float  # on an idle 2-core machine; a busy one stretches every case
    run: Callable[[], None]


# Full and --quick parameters. Quick runs fewer repetitions on smaller sizes and still prints
# every ratio (a ratio compares two figures measured at the same size in the same run).
FULL = {"latency": 0.25, "import_runs": 15, "lines": 1_000_000, "decoder_lines": 300_000,
        "sizes": "10000,100000,1000000", "max_events": DEFAULT_EXPORT_MAX_EVENTS}  # fmt: skip
QUICK = {"latency": 0.02, "import_runs": 1, "lines": 10_000, "decoder_lines": 5_000,
         "sizes": "1000", "max_events": 80_000}  # fmt: skip


def _minutes(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def run_cases(
    cases: list[Case],
    *,
    quick: bool = False,
    clock: Callable[[], float] = time.perf_counter,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Run each case, saying "case i/n" as it starts and ends, and about how long is left.

    The estimate left is the remaining expected time scaled by how this machine has done so
    far (a busy machine that took twice as long so far is expected to keep doing so).
    """
    total = sum(case.expected_seconds for case in cases)
    hint = "" if quick else "; for a quick run: make bench ARGS=--quick"
    say(
        f"# {len(cases)} cases, expected to take about {_minutes(total)} on an idle 2-core "
        f"machine (longer on a busy one){hint}"
    )
    spent = expected_so_far = 0.0
    for index, case in enumerate(cases, start=1):
        about = _minutes(case.expected_seconds)
        say(f"\n[case {index}/{len(cases)}] {case.name}: starting (about {about})")
        started = clock()
        case.run()
        took = clock() - started
        spent += took
        expected_so_far += case.expected_seconds
        pace = spent / expected_so_far if expected_so_far else 1.0
        left = sum(c.expected_seconds for c in cases[index:]) * pace
        tail = f"; about {_minutes(left)} left" if index < len(cases) else "; all done"
        say(f"[case {index}/{len(cases)}] {case.name}: done in {_minutes(took)}{tail}")


def plan(args: argparse.Namespace) -> list[Case]:
    """Every benchmark case of this run, in order, with its expected duration."""

    def about(full: float, quick: float) -> float:
        """Seconds on an idle 2-core machine, in this run's mode (measured, rounded up)."""
        return quick if args.quick else full

    sizes = tuple(int(n) for n in args.sizes.split(","))
    cases: list[Case] = []
    if not args.only_sources:
        cases += [
            Case("weekly report vs the obvious design", about(30, 6),
                 lambda: bench_report(args.latency)),
            Case("fresh vs warm instances (export size in storage)", about(20, 10),
                 lambda: bench_fresh_instances(args.latency)),
            Case("shared call budget overhead", about(10, 6), bench_budget_overhead),
            Case("resilience (429, 429, 503)", about(6, 5), bench_resilience),
            Case("a morning's request budget", about(3, 2), bench_hourly_budget),
            Case("a day of alert checks", about(4, 3), bench_alert_budget),
            Case("[[report]]s budget", about(3, 2),
                 lambda: bench_reports_budget(client, NamesCache)),
            Case("import time", 6 * args.import_runs + 1,
                 lambda: bench_imports(args.import_runs)),
            Case("raw export memory", about(75, 4),
                 lambda: bench_export(args.lines // 10, args.lines)),
        ]  # fmt: skip
    cases.append(
        Case(
            "data sources (decoder, simulated projects)",
            about(240, 8),
            lambda: bench_sources(
                decoder_lines=args.decoder_lines, sizes=sizes, max_events=args.max_events
            ),
        )
    )
    return cases


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print its figures, with progress."""
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repetitions and smaller sizes (a minute or two); the same ratios",
    )
    parser.add_argument("--latency", type=float)
    parser.add_argument("--import-runs", type=int)
    parser.add_argument("--lines", type=int)
    parser.add_argument("--decoder-lines", type=int)
    parser.add_argument("--sizes", help="simulated projects, events a day (comma-separated)")
    parser.add_argument("--max-events", type=int, help="EXPORT_MAX_EVENTS for the sources")
    parser.add_argument("--only-sources", action="store_true", help="skip the other benchmarks")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:  # an explicit option wins over the mode's default
            setattr(args, name, value)
    print(
        f"# bench on {platform.node()}: {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{__import__('os').cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        f"{' (quick mode)' if args.quick else ''}"
    )
    run_cases(plan(args), quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
