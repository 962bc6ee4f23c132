"""A real SMTP server on the loopback (aiosmtpd) that keeps every message it accepts.

For tests, `make demo` and `make serve`: STARTTLS, implicit TLS and AUTH LOGIN/PLAIN when given
a certificate and credentials; it can refuse chosen recipients (550), answer the next messages
with a temporary failure (451), or drop the connection once a message's data has arrived.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True, slots=True)
class Received:
    """One accepted message: the envelope and the raw bytes as they arrived."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    authenticated_as: str | None
    tls: bool

    def message(self) -> EmailMessage:
        """The message parsed with the modern policy (headers decoded, parts iterable)."""
        message = message_from_bytes(self.data, policy=default)
        if not isinstance(message, EmailMessage):  # pragma: no cover - policy=default says so
            raise TypeError(type(message).__name__)
        return message


class _Handler:
    def __init__(self, standin: SmtpStandIn) -> None:
        self.standin = standin

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.standin.refuse:
            return f"550 5.1.1 <{address}>: recipient unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        standin = self.standin
        with standin._lock:
            failure = standin._failures.popleft() if standin._failures else None
        if failure == "drop":
            standin._count_dropped(envelope)
            if server.transport is not None:
                server.transport.close()  # the data arrived, the reply never will
            return "250 OK"
        if failure is not None:
            return failure
        login = session.auth_data
        received = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(cast(bytes, envelope.original_content or envelope.content)),
            authenticated_as=login.decode() if isinstance(login, bytes) else None,
            tls=session.ssl is not None or standin._implicit,
        )
        with standin._lock:
            standin._received.append(received)
            count = len(standin._received)
        if standin._save_to is not None:
            standin._save_to.mkdir(parents=True, exist_ok=True)
            (standin._save_to / f"{count:03d}.eml").write_bytes(received.data)
        return "250 2.0.0 OK: queued"


class SmtpStandIn:
    """An SMTP server on 127.0.0.1 that accepts mail for anyone unless told otherwise."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        save_to: Path | None = None,
    ) -> None:
        """`tls`: a server context; STARTTLS is then required, or TLS from the first byte.

        `save_to`: a folder where each accepted message is also written as NNN.eml.
        """
        self.refuse: set[str] = set()
        self._tls = tls
        self._implicit = implicit_tls
        self._credentials = (username, password) if username and password else None
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._failures: deque[str] = deque()
        self._dropped: list[tuple[str, ...]] = []
        self.auth_failures = 0
        self._controller: Controller | None = None
        self._save_to = save_to

    # -- lifecycle

    def start(self, *, port: int = 0) -> str:
        """Listen on 127.0.0.1 (`port` 0: a free one); return 'host:port'."""
        if self._controller is not None:
            raise RuntimeError("the SMTP stand-in is already running")
        # Implicit TLS is TLS from the first byte, which aiosmtpd does not count as "TLS" for AUTH.
        params: dict[str, Any] = {"auth_require_tls": self._tls is not None and not self._implicit}
        if self._credentials:
            params["authenticator"] = self._authenticate
        else:
            params["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]
        if self._tls is not None and not self._implicit:
            params.update(tls_context=self._tls, require_starttls=True)
        last: OSError | None = None
        for _ in range(5):  # a free port may be taken between finding it and binding it
            chosen = port or _free_port()
            controller = Controller(
                _Handler(self),
                hostname="127.0.0.1",
                port=chosen,
                ssl_context=self._tls if self._implicit else None,
                server_hostname="localhost",
                ready_timeout=10.0,
                **params,
            )
            try:
                controller.start()
            except (OSError, RuntimeError) as exc:
                last = exc if isinstance(exc, OSError) else OSError(str(exc))
                if port:
                    break
                continue
            self._controller = controller
            return self.address
        raise OSError(f"the SMTP stand-in could not listen: {last}")

    def stop(self) -> None:
        """Stop serving; a no-op when not running."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests read and arrange

    @property
    def host(self) -> str:
        """Always the loopback address."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The port it listens on; raises if it is not running."""
        if self._controller is None:
            raise RuntimeError("the SMTP stand-in is not running; call start() first")
        return int(self._controller.port)

    @property
    def address(self) -> str:
        """'127.0.0.1:PORT'."""
        return f"{self.host}:{self.port}"

    @property
    def received(self) -> list[Received]:
        """Every accepted message, in arrival order (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def dropped(self) -> list[tuple[str, ...]]:
        """The recipients of each message whose connection was dropped after its data."""
        with self._lock:
            return list(self._dropped)

    def fail_next(self, reply: str = "451 4.3.0 try again later", *, times: int = 1) -> None:
        """Answer the data of the next `times` messages with `reply` (keep nothing)."""
        with self._lock:
            self._failures.extend([reply] * times)

    def clear_failures(self) -> None:
        """Forget every queued failure: the outage is over."""
        with self._lock:
            self._failures.clear()

    def drop_next(self, *, times: int = 1) -> None:
        """Close the connection once the next message's data arrived, without answering."""
        with self._lock:
            self._failures.extend(["drop"] * times)

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Received]:
        """The received messages once there are at least `count` (or when `timeout` passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        return self.received

    # -- internals

    def _count_dropped(self, envelope: Envelope) -> None:
        with self._lock:
            self._dropped.append(tuple(envelope.rcpt_tos))

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self._credentials is not None:
            user, password = self._credentials
            if data.login == user.encode() and data.password == password.encode():
                return AuthResult(success=True, auth_data=data.login)
        with self._lock:
            self.auth_failures += 1
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
