"""The reporter's error tree: every failure the app expects, each with its context and no secret."""


class ReporterError(Exception):
    """Base of every error this app raises on purpose."""


class ConfigError(ReporterError):
    """Settings are missing or malformed; `problems` lists every one of them at once.

    One problem reads on one line; several are listed one per line, so each can be read.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"invalid settings: {self.problems[0]}"
        else:
            listed = "".join(f"\n  - {p}" for p in self.problems)
            message = f"invalid settings ({len(self.problems)} problems):{listed}"
        super().__init__(message)


class MetricsFileError(ConfigError):
    """The metrics file cannot be read, or names events the project does not have."""


class UnknownEventsError(ReporterError):
    """Event names the Mixpanel project has never seen, each with its closest existing names."""

    def __init__(self, suggestions: dict[str, list[str]], *, where: str) -> None:
        self.suggestions = dict(suggestions)
        self.where = where
        parts = []
        for name, close in self.suggestions.items():
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            parts.append(f"{name!r}{hint}")
        super().__init__(f"unknown Mixpanel event in {where}: " + "; ".join(parts))


class MixpanelError(ReporterError):
    """Mixpanel answered an error or could not be reached; carries status, endpoint, body."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.body = body[:200]
        self.retry_after = retry_after  # seconds, when the server said how long to wait
        where = f"Mixpanel {endpoint}"
        if status is not None:
            where += f" answered HTTP {status}"
        detail = f": {self.body}" if self.body else ""
        super().__init__(f"{where}: {message}{detail}")


class MixpanelAuthError(MixpanelError):
    """401/403: the service account credentials or its project access are wrong."""


class MixpanelRequestError(MixpanelError):
    """Another 4xx: the request itself is wrong; retrying cannot help."""


class MixpanelPlanError(MixpanelRequestError):
    """402: the project's plan does not include this API (Free plans have no Query API)."""


class ExportTooLarge(MixpanelError):
    """The raw export holds more events than EXPORT_MAX_EVENTS: it was not (fully) streamed."""


class MixpanelRateLimited(MixpanelError):
    """429: the query budget (60/hour, 5 concurrent) is spent; `retry_after` in seconds."""


class MixpanelBudgetSpent(MixpanelRateLimited):
    """Our own shared budget of Mixpanel calls is spent: refused before reaching Mixpanel."""

    def __init__(self, message: str, *, endpoint: str, retry_after: float) -> None:
        super().__init__(message, endpoint=endpoint, retry_after=retry_after)
        self.reason = message
        # Not "Mixpanel /events: ...": Mixpanel never saw this request.
        self.args = (f"{message} (a {endpoint} request)",)


class MixpanelUnavailable(MixpanelError):
    """5xx, timeout or dropped connection, after the bounded retries."""


class MixpanelBadResponse(MixpanelError):
    """A 2xx whose body is malformed or truncated: never read as zero."""


class DeliveryError(ReporterError):
    """A destination (Slack, email, ...) did not take a message; `maybe_posted` is True when it
    may have it all the same, so it must never be sent again (shared/delivery/once.py)."""

    maybe_posted: bool = False


class SlackError(DeliveryError):
    """The Slack webhook refused the message or could not be reached; never carries the URL."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        maybe_posted: bool = False,
        where: str = "Slack webhook",
    ) -> None:
        self.status = status
        self.body = body[:200]
        self.maybe_posted = maybe_posted
        if status is not None:
            where += f" answered HTTP {status}"
        detail = f": {self.body}" if self.body else ""
        super().__init__(f"{where}: {message}{detail}")


class LedgerError(ReporterError):
    """The delivery ledger (Azure Table Storage) failed; never carries the connection string."""


class InvalidRequest(ReporterError):
    """A CustomReport parameter broke a rule; `field` names it and `code` is machine-readable."""

    def __init__(self, field: str | None, message: str, *, code: str = "invalid_parameter") -> None:
        self.field = field
        self.code = code
        self.message = message
        super().__init__(message)


class EmailError(DeliveryError):
    """The mail server refused the report or could not be reached; never carries the password.

    `refused` names each recipient the server turned down (address and reply); `maybe_posted`
    is True when some or all recipients may have the message, so it must not be sent again.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        refused: tuple[str, ...] = (),
        maybe_posted: bool = False,
    ) -> None:
        self.code = code
        self.refused = refused
        self.maybe_posted = maybe_posted
        where = "SMTP server"
        if code is not None:
            where += f" answered {code}"
        super().__init__(f"{where}: {message}")


class UnknownPropertiesError(ReporterError):
    """Event properties a metric reads that its events never carry: a typo, never a silent 0."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("unknown event property: " + "; ".join(self.problems))


class ReportsFailed(ReporterError):
    """Some reports of a timer fire failed (each posted its own notice); the others ran."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = list(failures)
        super().__init__(f"{len(self.failures)} report(s) failed: " + "; ".join(self.failures))
