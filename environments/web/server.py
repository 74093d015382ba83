"""A static file server on 127.0.0.1 for local pages (MiniWoB's HTML, test fixtures).

It runs `http.server` in a daemon thread, so serving never blocks the event loop; each folder is
served once per process and the server lives as long as the process.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Any


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class StaticServer:
    """Serves one folder at http://127.0.0.1:PORT/ from a background thread."""

    def __init__(self, root: str | Path, port: int = 0) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"cannot serve {self.root}: no such folder")
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"serve:{self.root.name}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


_servers: dict[Path, StaticServer] = {}
_lock = threading.Lock()


def serve_folder(root: str | Path) -> StaticServer:
    """The process-wide server for `root` (started on first use)."""
    key = Path(root).resolve()
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = StaticServer(key)
        return server
