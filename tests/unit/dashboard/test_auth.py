"""Dashboard token auth without a browser: the Flask hook, the bind check and the CLI's refusal."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from typer.testing import CliRunner

from paretosweep.cli import app as cli_app
from paretosweep.dashboard import _auth, create_app, serve
from paretosweep.dashboard._auth import COOKIE_NAME, TOKEN_ENV, DashboardAuthError, check_bind, is_loopback, require_token, resolve_token
from tests.synthetic_run import write_synthetic_run

TOKEN = "s3cret-Token_value"


@pytest.fixture(scope="module")
def client() -> object:
    server = Flask("auth-test")

    @server.route("/")
    def index() -> str:
        return "page"

    @server.route("/_dash-update-component", methods=["POST"])
    def update() -> str:
        return "callback"

    @server.route("/assets/x.js")
    def asset() -> str:
        return "asset"

    require_token(server, TOKEN)
    return server


def _unauthorized(response: object) -> bool:
    body = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return response.status_code == 401 and "needs its token" in body and TOKEN not in body and "Traceback" not in body  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/", "/assets/x.js", "/missing"])
def test_no_token_is_401_on_every_path(client: Flask, path: str) -> None:
    response = client.test_client().get(path)
    assert _unauthorized(response)
    assert response.mimetype == "text/plain" and response.headers["WWW-Authenticate"] == "Bearer"
    assert _unauthorized(client.test_client().post("/_dash-update-component"))


def test_bearer_header_passes_and_a_wrong_one_does_not(client: Flask) -> None:
    c = client.test_client()
    assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True) == "page"
    assert c.post("/_dash-update-component", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert _unauthorized(c.get("/", headers={"Authorization": "Bearer wrong"}))
    assert _unauthorized(c.get("/", headers={"Authorization": f"Basic {TOKEN}"}))
    assert _unauthorized(c.get("/", headers={"Authorization": f"Bearer {TOKEN}x"}))


def test_query_token_sets_a_strict_httponly_cookie_and_redirects_without_it(client: Flask) -> None:
    c = client.test_client()
    response = c.get(f"/?a=1&token={TOKEN}&b=2")
    assert response.status_code == 303 and response.headers["Location"] == "/?a=1&b=2"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie holds an HMAC, not the token
    # the test client keeps the cookie: the page's later requests pass without the token
    assert c.get("/").get_data(as_text=True) == "page"
    assert c.post("/_dash-update-component").get_data(as_text=True) == "callback"
    assert c.get("/assets/x.js").status_code == 200


def test_wrong_query_token_or_forged_cookie_is_401(client: Flask) -> None:
    c = client.test_client()
    assert _unauthorized(c.get("/?token=wrong"))
    assert "Set-Cookie" not in c.get("/?token=wrong").headers
    c.set_cookie(COOKIE_NAME, TOKEN)  # the raw token is not the cookie's value
    assert _unauthorized(c.get("/"))
    c.set_cookie(COOKIE_NAME, _auth.cookie_value("another token"))
    assert _unauthorized(c.get("/"))


def test_the_request_log_masks_the_token(caplog: pytest.LogCaptureFixture) -> None:
    _auth.mask_token_in_request_log()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('127.0.0.1 - - "%s" %s -', f"GET /?a=1&token={TOKEN} HTTP/1.1", 303)
    assert TOKEN not in caplog.text and "token=*** HTTP/1.1" in caplog.text


def test_dash_app_with_a_token_guards_its_pages_and_callbacks(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "run", n_trials=12)
    c = create_app([run], token=TOKEN).server.test_client()
    assert _unauthorized(c.get("/"))
    assert _unauthorized(c.get("/_dash-layout"))
    assert _unauthorized(c.post("/_dash-update-component", json={}))
    assert c.get(f"/?token={TOKEN}").status_code == 303
    assert c.get("/").status_code == 200 and c.get("/_dash-layout").status_code == 200
    assert create_app([run]).server.test_client().get("/").status_code == 200  # no token: open, as before


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_flag_wins_over_the_environment_and_empty_is_none() -> None:
    assert resolve_token("flag", {TOKEN_ENV: "env"}) == "flag"
    assert resolve_token(None, {TOKEN_ENV: "env"}) == "env"
    assert resolve_token(None, {TOKEN_ENV: "  "}) is None
    assert resolve_token(None, {}) is None


def test_check_bind_refuses_only_non_loopback_without_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(DashboardAuthError, match="--token") as error:
        check_bind("0.0.0.0", None)
    assert TOKEN_ENV in str(error.value) and "secrets.token_urlsafe(32)" in str(error.value)
    with pytest.raises(DashboardAuthError, match="--token"):
        serve([], host="0.0.0.0", port=1)  # the API refuses too, before any server starts


def test_the_cli_refuses_a_public_host_without_a_token_before_reading_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    missing = tmp_path / "no-such-run"
    result = CliRunner().invoke(cli_app, ["dashboard", str(missing), "--host", "0.0.0.0", "--port", "1"])
    flat = " ".join(result.output.split())
    assert result.exit_code == 2, flat
    assert "--token" in flat and TOKEN_ENV in flat and "secrets.token_urlsafe(32)" in flat
    assert "Dashboard on" not in flat and "warning" not in flat  # refused before the runs or the server
