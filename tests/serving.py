"""`make serve`'s dev server running on a thread for a test: start, yield its port, stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

from devtools.serve import make_server


@contextmanager
def dev_server(server: ThreadingHTTPServer | None = None) -> Iterator[int]:
    """The dev server (a fresh one on a free loopback port by default) serving; its port.

    On the way out it is shut down and closed, and its thread joined.
    """
    httpd = server or make_server(0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
