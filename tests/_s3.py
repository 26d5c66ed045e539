"""A loopback HTTP endpoint that answers every request like S3 refusing it, and names the key each was signed with.

``refusing_s3`` yields ``("127.0.0.1:PORT", seen)``: point a URI at it with
``s3://KEY:SECRET@bucket/path?endpoint_override=127.0.0.1:PORT&scheme=http``; every request gets a
403 AccessDenied and appends the access key id of its signature to ``seen``. It shows that pyarrow
reached the storage with the credentials the test gave (in the URI or the environment), and lets a
test check the refusal's message, without a real S3.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _RefusingS3(BaseHTTPRequestHandler):
    """Answers like S3 denying access; records the access key id of each request's signature."""

    seen: list[str] = []

    def _refuse(self) -> None:
        match = re.search(r"Credential=([^/]+)/", self.headers.get("Authorization", ""))
        type(self).seen.append(match.group(1) if match else "")
        body = b'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _refuse

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_s3() -> Iterator[tuple[str, list[str]]]:
    _RefusingS3.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", _RefusingS3.seen
    finally:
        server.shutdown()
        server.server_close()
