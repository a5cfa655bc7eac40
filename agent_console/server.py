"""Serve the Flask app from a thread of the engine process (a WSGI server,
not a second event loop)."""
from __future__ import annotations

import logging
import threading

from werkzeug.serving import make_server

# One line per request (every page's event stream, every command) would drown
# the platform's own log; errors still show.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class WebServer:
    def __init__(self, app, host: str, port: int):
        self._server = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="web", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # shutdown() waits for serve_forever() to notice: only when it runs.
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
