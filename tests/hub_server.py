"""Small HTTP servers on 127.0.0.1: one answers like the Hugging Face Hub's file endpoints,
one serves plain files as a mirror of the weights would.

The Hub imitation serves ``HEAD`` and ``GET /{repo_id}/resolve/{revision}/{filename}``
with the headers huggingface_hub reads (``X-Repo-Commit``, ``ETag``,
``Content-Length``) and tells errors apart with ``X-Error-Code``, as the real Hub does.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Handler(BaseHTTPRequestHandler):
    """Logs each request on its server and hands it to the server's ``answer``."""

    server_owner: _LocalServer

    def do_HEAD(self) -> None:
        self._handle(body=False)

    def do_GET(self) -> None:
        self._handle(body=True)

    def _handle(self, body: bool) -> None:
        self.server_owner.requests.append(f"{self.command} {self.path}")
        self.server_owner.answer(self, body)

    def reply(self, status: int, headers: dict[str, str], data: bytes = b"") -> None:
        self.send_response(status)
        for key, value in {"Content-Length": str(len(data)), **headers}.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if data:
            self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _LocalServer:
    """A threaded server on a free port of 127.0.0.1, for the length of a ``with`` block."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        handler = type("Handler", (_Handler,), {"server_owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, request: _Handler, body: bool) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeHub(_LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.files: dict[tuple[str, str, str], bytes] = {}
        self.endpoint = self.url

    def answer(self, request: _Handler, body: bool) -> None:
        m = re.fullmatch(r"/(.+?/.+?)/resolve/([^/]+)/(.+)", request.path.split("?")[0])
        repos = {repo for repo, _, _ in self.files}
        revisions = {(repo, rev) for repo, rev, _ in self.files}
        if not m or m[1] not in repos:
            return request.reply(404, {"X-Error-Code": "RepoNotFound"})
        if (m[1], m[2]) not in revisions:
            return request.reply(404, {"X-Error-Code": "RevisionNotFound"})
        data = self.files.get((m[1], m[2], m[3]))
        if data is None:
            return request.reply(404, {"X-Error-Code": "EntryNotFound"})
        headers = {
            "X-Repo-Commit": COMMIT,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Content-Length": str(len(data)),
        }
        request.reply(200, headers, data if body else b"")


class FileServer(_LocalServer):
    """Plain files by path. ``cut_after`` makes it send only that many bytes of a body and
    drop the connection (a server dying mid-file); ``Range`` requests are honoured, so a
    client can resume."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None

    def answer(self, request: _Handler, body: bool) -> None:
        data = self.files.get(request.path)
        if data is None:
            return request.reply(404, {})
        start, status, headers = 0, 200, {"Accept-Ranges": "bytes"}
        m = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if m and int(m[1]) < len(data):
            start, status = int(m[1]), 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        headers["Content-Length"] = str(len(data) - start)
        end = len(data) if self.cut_after is None else self.cut_after
        request.reply(status, headers, data[start:end] if body else b"")
