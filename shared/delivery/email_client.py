"""SMTP delivery of the report email to one recipient list; errors never carry the password.

A poster like the Slack webhook: `destination` is a fingerprint for the delivery ledger (a hash
of the sorted recipients), `render(report)` builds the message (pure) and `post(message)` sends
it. Only what cannot have reached anyone is tried again: a refused connection or a 4xx before
the message was handed over. Once DATA has started, a dropped connection may have delivered it,
so the error says `maybe_posted` and the ledger never sends that window again.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from shared.addresses import fingerprint
from shared.email_settings import EmailSettings, SmtpSecurity
from shared.errors import EmailError
from shared.retry import DELIVERY_POLICY, RetryPolicy, sleep_seconds

if TYPE_CHECKING:
    pass

MAX_REPLY_CHARS = 200


class SmtpEmail:
    """Sends report emails to `recipients` through the SMTP server of `settings`."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        recipients: tuple[Address, ...] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        policy: RetryPolicy = DELIVERY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`recipients` defaults to EMAIL_TO; a report's own list (reports config) overrides it."""
        chosen = settings.recipients if recipients is None else recipients
        if not chosen:
            raise ValueError("an email destination needs at least one recipient")
        self._settings = settings
        self.recipients = tuple(chosen)
        self._ssl = ssl_context
        self._policy = policy
        self._sleep = sleep

    @property
    def destination(self) -> str:
        """'email-' and a hash of the sorted recipient addresses: the ledger's destination."""
        return fingerprint(self.recipients)

    @property
    def settings(self) -> EmailSettings:
        """The SMTP settings it sends with (the caller renders with their sender and PDF flag)."""
        return self._settings

    def post(self, message: EmailMessage) -> None:
        """Hand `message` to the server for every recipient, else raise EmailError.

        Some recipients refused while others accepted: the message went to those, so the
        error names the refused addresses with maybe_posted=True (never sent a second time).
        """
        data = message.as_bytes()  # in the policy it was rendered with (render/email_message.py)
        for attempt in range(1, self._policy.max_attempts + 1):
            outcome = self._send_once(data)
            if outcome is None:
                return
            if isinstance(outcome, _Transient) and attempt < self._policy.max_attempts:
                self._sleep(sleep_seconds(self._policy, attempt, None))
                continue
            # Raised here, outside any except block, so no smtplib error rides along.
            raise outcome.error
        raise EmailError("gave up after retries")  # pragma: no cover - the loop always exits

    def _send_once(self, data: bytes) -> _Transient | _Final | None:
        settings = self._settings
        stage = "connect"
        try:
            with self._connect() as smtp:
                stage = "greet"
                smtp.ehlo()
                if settings.security is SmtpSecurity.STARTTLS:
                    stage = "starttls"
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if settings.username and settings.password:
                    stage = "login"
                    smtp.login(settings.username, settings.password.reveal())
                stage = "envelope"
                code, reply = smtp.mail(settings.sender.addr_spec)
                if code != 250:
                    return self._refused_reply("the sender was refused", code, reply)
                refused: list[str] = []
                for rcpt in self.recipients:
                    code, reply = smtp.rcpt(rcpt.addr_spec)
                    if code not in (250, 251):
                        refused.append(f"{rcpt.addr_spec} ({code} {self._reply(reply)})")
                if len(refused) == len(self.recipients):
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        smtp.rset()  # politeness only: the verdict is already known
                    return _Final(
                        EmailError(
                            f"every recipient was refused: {'; '.join(refused)}",
                            refused=tuple(refused),
                        )
                    )
                stage = "data"
                code, reply = smtp.data(data)
                if code != 250:
                    return self._refused_reply("the message was refused", code, reply)
                stage = "quit"
            if refused:
                return _Final(
                    EmailError(
                        f"the report was sent, but {len(refused)} recipient(s) were refused: "
                        f"{'; '.join(refused)}",
                        refused=tuple(refused),
                        maybe_posted=True,
                    )
                )
            return None
        except smtplib.SMTPAuthenticationError as exc:
            return _Final(
                EmailError(
                    "login refused: check SMTP_USERNAME and SMTP_PASSWORD",
                    code=exc.smtp_code,
                )
            )
        except smtplib.SMTPResponseException as exc:
            if stage == "quit":  # the message was accepted; only the goodbye failed
                return None
            # A reply, even to DATA, means the server did not take the message.
            error = EmailError(f"{stage} failed: {self._reply(exc.smtp_error)}", code=exc.smtp_code)
            return _Transient(error) if 400 <= exc.smtp_code < 500 else _Final(error)
        except smtplib.SMTPNotSupportedError:
            offer = "STARTTLS (check SMTP_SECURITY)" if stage == "starttls" else "AUTH login"
            return _Final(EmailError(f"the server does not offer {offer}"))
        except ssl.SSLError as exc:
            return _Final(
                EmailError(f"TLS failed ({type(exc).__name__}): check SMTP_SECURITY and SMTP_PORT")
            )
        except (smtplib.SMTPException, OSError) as exc:
            if stage == "quit":
                return None
            if stage == "data":
                return _Final(
                    EmailError(
                        f"connection lost while sending ({type(exc).__name__}); the report may "
                        "or may not have been delivered",
                        maybe_posted=True,
                    )
                )
            where = f"{settings.smtp_host}:{settings.smtp_port}"
            return _Transient(
                EmailError(f"could not reach the mail server {where} ({type(exc).__name__})")
            )

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout)

    def _context(self) -> ssl.SSLContext:
        return self._ssl or ssl.create_default_context()

    def _refused_reply(self, what: str, code: int, reply: bytes) -> _Transient | _Final:
        error = EmailError(f"{what}: {self._reply(reply)}", code=code)
        return _Transient(error) if 400 <= code < 500 else _Final(error)

    def _reply(self, reply: bytes | str) -> str:
        """The server's reply text, one short line, with the credentials masked."""
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        password = self._settings.password
        if password is not None:
            secret = password.reveal()
            user = self._settings.username or ""
            forms = {
                secret,
                base64.b64encode(secret.encode()).decode(),
                base64.b64encode(f"\0{user}\0{secret}".encode()).decode(),
            }
            for form in sorted(forms, key=len, reverse=True):
                text = text.replace(form, "********")
        return " ".join(text.split())[:MAX_REPLY_CHARS]


class _Transient:
    """Nothing reached anyone: trying again cannot send twice."""

    def __init__(self, error: EmailError) -> None:
        self.error = error


class _Final:
    """Stop here and raise `error`."""

    def __init__(self, error: EmailError) -> None:
        self.error = error
