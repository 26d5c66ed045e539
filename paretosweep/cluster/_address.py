"""Cluster addresses: which kind an address is, and whether anything answers there — fast.

Two kinds of address reach a Ray cluster:

- the **Jobs API** (the head's dashboard, ``http://HEAD:8265``), used by ``submit``, ``status``,
  ``logs`` and ``stop``;
- the **cluster address** for a driver (``auto``, ``HEAD:6379`` or ``ray://HEAD:10001``), used
  by ``run --address``.

Ray itself waits a long time (or forever) on an address nobody answers; these checks give up
after :data:`CONNECT_TIMEOUT_S` seconds with a :class:`ClusterUnreachableError` that names the
address and what to check.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from paretosweep.errors import ParetoSweepError

#: Seconds to wait for a TCP connection or an HTTP answer before calling an address unreachable.
CONNECT_TIMEOUT_S = 5.0

#: Environment variables Ray reads for the Jobs API address, in Ray's order of precedence.
ADDRESS_ENV_VARS = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")


class ClusterError(ParetoSweepError):
    """Talking to a Ray cluster failed (address, authentication, job)."""


class ClusterUnreachableError(ClusterError, ConnectionError):
    """Nothing answers at the given cluster address within a few seconds."""


class JobNotFoundError(ClusterError, LookupError):
    """The cluster has no job with the given id."""


def jobs_api_url(address: str | None) -> str:
    """The HTTP URL of a cluster's Jobs API from ``--address`` (or Ray's environment variables).

    ``http(s)://HOST:PORT`` is used as is. As in Ray's job SDK, a cluster address (``HEAD:6379``,
    ``ray://HEAD:10001`` or ``auto``) is resolved by asking the cluster where its dashboard is —
    after checking, within seconds, that something answers there.

    Raises:
        ClusterError: no address was given and none is set in the environment.
    """
    if not address:
        address = next((os.environ[v] for v in ADDRESS_ENV_VARS if os.environ.get(v)), None)
    if not address:
        raise ClusterError(
            "No cluster address: pass `--address http://HEAD:8265` (the Ray head's dashboard, which serves "
            "the Jobs API) or set RAY_API_SERVER_ADDRESS."
        )
    address = address.strip().rstrip("/")
    if address.startswith(("http://", "https://")):
        return address
    if "://" in address and not address.startswith("ray://"):
        raise ClusterError(f"`--address {address}`: expected http://HEAD:8265 (the Jobs API), HEAD:6379, ray://HEAD:10001 or auto.")
    if address != "auto":
        check_tcp(address, purpose="Ray Client" if address.startswith("ray://") else "Ray")
    from ray.dashboard.utils import get_address_for_submission_client

    try:
        with _address_env_cleared() if address != "auto" else contextlib.nullcontext():  # `auto` reads RAY_ADDRESS
            return get_address_for_submission_client(address).rstrip("/")
    except ConnectionError as error:
        raise ClusterUnreachableError(f"Cannot find the Ray cluster at `{address}`: {error}") from None
    except Exception as error:  # e.g. a GCS that knows no dashboard (started with --include-dashboard=false)
        raise ClusterError(
            f"Cannot find the Jobs API of the Ray cluster at `{address}` ({error}). Pass its URL: --address http://HEAD:8265."
        ) from None


def check_jobs_api(url: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ClusterUnreachableError` unless an HTTP server answers at ``url`` within ``timeout``.

    Any HTTP answer counts (401/403 included: authentication errors come from Ray afterwards,
    with Ray's own message about ``RAY_AUTH_TOKEN``).
    """
    import requests

    try:
        requests.get(f"{url}/api/version", timeout=timeout)
    except requests.exceptions.RequestException as error:
        reason = _reason(error)
        raise ClusterUnreachableError(
            f"Cannot reach the Ray Jobs API at {url} ({reason}). Check the address — the Ray head's dashboard, "
            f"port 8265 by default, e.g. http://HEAD:8265 — that the head is running (`ray status` on it), and "
            f"that the port is open from this machine (the dashboard must listen on a reachable interface: "
            f"`ray start --head --dashboard-host=0.0.0.0`)."
        ) from None


#: An HTTP/2 connection preface and an empty SETTINGS frame: a gRPC server (Ray's GCS, Ray Client)
#: answers with its own SETTINGS frame; an HTTP/1 server (e.g. the dashboard) with ``HTTP/1.x 400``.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS_FRAME = 0x04


def check_tcp(address: str, *, purpose: str = "Ray", timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise unless ``HOST:PORT`` (or ``ray://HOST:PORT``) answers like a Ray gRPC server within ``timeout``.

    ``ray.init`` waits a minute or more on an address that accepts connections but is no GCS
    (the dashboard's port, say), and retries an unreachable one for as long; this probe sends an
    HTTP/2 preface and reads the first bytes back.

    Raises:
        ClusterUnreachableError: no connection, or no answer, within ``timeout``.
        ClusterError: something else answers there (an HTTP/1 server: the dashboard's port?).
    """
    host, port = split_host_port(address, default_port=10001 if address.startswith("ray://") else 6379)
    expected = (
        "the Ray Client server of the head (port 10001 by default)"
        if purpose == "Ray Client"
        else "the Ray head's GCS address (port 6379 by default), as printed by `ray start --head`"
    )
    stage = "connect"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if os.environ.get("RAY_USE_TLS", "0").lower() in {"1", "true"}:
                return  # gRPC over TLS: the plain-text probe does not apply
            stage = "answer"
            sock.sendall(_H2_PREFACE)
            answer = sock.recv(16)
    except OSError as error:
        if isinstance(error, socket.timeout):
            reason = f"no answer within {timeout:g} s" if stage == "answer" else f"no connection within {timeout:g} s"
        else:
            reason = (error.strerror or type(error).__name__).lower()
        raise ClusterUnreachableError(
            f"Cannot reach the Ray cluster at `{address}` ({reason}). "
            f"The address should be {expected}; check that the head is running and the port is open from this machine."
        ) from None
    if len(answer) >= 4 and answer[3] == _SETTINGS_FRAME:
        return
    if answer.startswith((b"HTTP/", b"<")):  # a status line, or an HTML error page (HTTP/0.9-style servers)
        raise ClusterError(
            f"`{address}` is an HTTP server (the Ray dashboard and Jobs API?), not a cluster address. Give {expected}, "
            f"or send the sweep through the Jobs API: `paretosweep submit SPEC --address http://{host}:{port}`."
        )
    raise ClusterError(f"`{address}` answers, but not like a Ray cluster. The address should be {expected}.")


def split_host_port(address: str, *, default_port: int) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT``, ``ray://HOST:PORT`` or ``http://HOST:PORT``.

    Raises:
        ClusterError: the port is not a number.
    """
    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        port = parts.port or default_port
    except ValueError:
        raise ClusterError(f"`{address}` is not a valid address: expected HOST:PORT, e.g. 10.0.0.1:6379.") from None
    if not parts.hostname:
        raise ClusterError(f"`{address}` is not a valid address: expected HOST:PORT, e.g. 10.0.0.1:6379.")
    return parts.hostname, port


def check_driver_address(address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Check a ``run --address`` value before ``ray.init`` gets it (which can wait a long time).

    ``auto`` is left to Ray (it looks for a cluster on this machine and fails at once when there
    is none); ``HOST:PORT`` and ``ray://HOST:PORT`` must accept a TCP connection within a few seconds.

    Raises:
        ClusterError: a Jobs API address (http://…) was given where a cluster address is expected.
        ClusterUnreachableError: nothing answers there.
    """
    if address == "auto":
        return
    if address.startswith(("http://", "https://")):
        raise ClusterError(
            f"`--address {address}` is a Jobs API address; `run` attaches a driver and needs the cluster address: "
            "`auto` (on a cluster node), HEAD:6379 or ray://HEAD:10001. To send the sweep through the Jobs API, "
            f"use `paretosweep submit SPEC --address {address}`."
        )
    check_tcp(address, purpose="Ray Client" if address.startswith("ray://") else "Ray", timeout=timeout)


@contextlib.contextmanager
def _address_env_cleared() -> Iterator[None]:
    """Ray's job SDK lets RAY_ADDRESS override an explicit address; an explicit ``--address`` wins here."""
    saved = {v: os.environ.pop(v) for v in ADDRESS_ENV_VARS if v in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _reason(error: BaseException) -> str:
    text = str(error)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("Name or service not known", "unknown host"),
        ("No route to host", "no route to host"),
    ):
        if needle in text:
            return reason
    return type(error).__name__
