"""Token authentication for the dashboard: one shared secret checked on every request.

A request passes with any one of:

* the header ``Authorization: Bearer <token>``;
* the query parameter ``?token=<token>``: a GET is then redirected to the same URL without
  the token, with an HttpOnly, SameSite=Strict cookie set, so that the page's own requests
  (Dash's ``_dash-*`` callbacks, assets, downloads) pass by the cookie;
* that cookie, which holds an HMAC of the token, never the token itself.

Anything else gets a 401 with a short plain-text body. Tokens are compared with
:func:`hmac.compare_digest`, never logged, and the server's request log (werkzeug's, which
prints each request line with its query string) has ``token=...`` masked.

The dashboard must not serve another interface than loopback without a token:
:func:`check_bind` says so before any server starts.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from paretosweep.errors import ParetoSweepError

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response as BaseResponse

#: The environment variable read when ``--token`` is not given.
TOKEN_ENV = "PARETOSWEEP_DASHBOARD_TOKEN"
#: The query parameter that carries the token on the first page load.
QUERY_PARAM = "token"
#: The cookie set after a valid ``?token=``.
COOKIE_NAME = "paretosweep_dashboard_auth"
#: How to make a token (printed in the errors).
MAKE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
UNAUTHORIZED_BODY = (
    "401 Unauthorized: this paretosweep dashboard needs its token. "
    "Open the URL with ?token=<token>, or send the header 'Authorization: Bearer <token>'.\n"
)
_TOKEN_IN_TEXT = re.compile(rf"([?&]{QUERY_PARAM}=)[^&\s\"]*")


class DashboardAuthError(ParetoSweepError, ValueError):
    """The dashboard would serve a non-loopback interface without a token, or the token is unusable."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds this machine only: ``localhost``, 127.0.0.0/8 or ::1."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name other than localhost, or 0.0.0.0-like text
        return False


def resolve_token(flag: str | None, environ: Mapping[str, str]) -> str | None:
    """The token to enforce: ``--token`` when given, else ``$PARETOSWEEP_DASHBOARD_TOKEN``; empty is none."""
    for value in (flag, environ.get(TOKEN_ENV)):
        if value is not None and value.strip():
            return value.strip()
    return None


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` without a token.

    Raises:
        DashboardAuthError: ``host`` is not loopback and ``token`` is None.
    """
    if token is None and not is_loopback(host):
        raise DashboardAuthError(
            f"The dashboard refuses to listen on --host {host} without a token: anyone who can reach it could "
            f"browse these runs. Pass --token TOKEN or set {TOKEN_ENV} (make one with: {MAKE_TOKEN}), "
            "or bind 127.0.0.1 to keep it local."
        )


def cookie_value(token: str) -> str:
    """What the cookie holds: an HMAC of the token (a stolen cookie does not reveal the token)."""
    return hmac.new(token.encode(), b"paretosweep dashboard cookie", hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def require_token(server: Flask, token: str) -> None:
    """Make every request to ``server`` need ``token`` (a ``before_request`` hook)."""
    from flask import Response, redirect, request

    expected_cookie = cookie_value(token)

    def check() -> BaseResponse | None:
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and _same(credentials.strip(), token):
            return None
        if _same(request.cookies.get(COOKIE_NAME), expected_cookie):
            return None
        if _same(request.args.get(QUERY_PARAM), token):
            if request.method not in ("GET", "HEAD"):
                return None
            rest = [(k, v) for k, v in request.args.items(multi=True) if k != QUERY_PARAM]
            response = redirect(request.script_root + request.path + (f"?{urlencode(rest)}" if rest else ""), code=303)
            response.set_cookie(COOKIE_NAME, expected_cookie, httponly=True, samesite="Strict", secure=request.is_secure, path="/")
            return response
        return Response(UNAUTHORIZED_BODY, status=401, mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})

    server.before_request(check)
    mask_token_in_request_log()


class _MaskToken(logging.Filter):
    """Replace the value of ``token=`` in a log record's text with ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = redact(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def mask_token_in_request_log() -> None:
    """Mask ``?token=...`` in werkzeug's request log (it prints every request line); idempotent."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, _MaskToken) for f in logger.filters):
        logger.addFilter(_MaskToken())


def redact(url: str) -> str:
    """``url`` with the value of any ``token=`` replaced by ``***`` (for messages)."""
    return _TOKEN_IN_TEXT.sub(r"\1***", url)
