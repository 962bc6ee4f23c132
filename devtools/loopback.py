"""A loopback HTTP service in a daemon thread: the lifecycle both stand-ins share."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

# serve_forever checks for shutdown this often: short, so each test tears down quickly.
SHUTDOWN_POLL_SECONDS = 0.02


class LoopbackServer(ThreadingHTTPServer):
    """A threading server on 127.0.0.1 whose handlers reach their stand-in as `server.app`."""

    daemon_threads = True

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], app: object) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.app = app


class LoopbackService:
    """Start, stop and context-manage one LoopbackServer; subclasses say what they serve."""

    service_name = "stand-in"
    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def _listen(self, port: int) -> None:
        """Serve on 127.0.0.1:`port` (0 = any free port) in a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"the {self.service_name} is already running")
        self._server = LoopbackServer(port, self.handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=self.service_name,
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port it listens on; raises if it is not running."""
        if self._server is None:
            raise RuntimeError(f"the {self.service_name} is not running; call start() first")
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and release the port; a no-op when not running."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def start(self) -> str:
        """Serve, and return where (overridden with the stand-in's own address)."""
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
