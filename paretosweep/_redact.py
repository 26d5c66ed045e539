"""Keep credentials out of what paretosweep prints and logs, and out of the URIs it hands on.

A pyarrow filesystem URI can carry secrets in two places: the user-info part
(``s3://ACCESS_KEY:SECRET_KEY@bucket/path``) and query parameters
(``?secret_key=...``, ``?session_token=...``). :func:`redact` masks both in any text
(a bare URI, an error message, a log line); :func:`split_credentials` moves the S3 ones
into the AWS SDK's environment variables, which pyarrow's S3 filesystem reads on every
process (driver and trial workers), so the URI itself can travel in the clear.
:func:`storage_error` turns a pyarrow ``OSError`` on the storage into a message that names the
URI (redacted) and the fix.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from paretosweep.errors import RunDirectoryError

MASK = "***"

#: A URI in free text: scheme://, then anything up to white space or a quote/bracket.
_URI = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"`<>()\[\]{}]+")
#: Query parameter names whose values are secrets (matched as substrings, any case).
_SECRET_PARAM = re.compile(r"secret|password|passwd|token|access_key|credential|signature|sig$|key$", re.IGNORECASE)
#: S3 query parameters that pyarrow's S3 URIs take as credentials, and their AWS SDK variables.
_S3_PARAMS = {"access_key": "AWS_ACCESS_KEY_ID", "secret_key": "AWS_SECRET_ACCESS_KEY", "session_token": "AWS_SESSION_TOKEN"}


def redact(text: str) -> str:
    """``text`` with the password of every URI's user-info and every secret query value masked.

    ``s3://KEY:SECRET@bucket/run?secret_key=S`` becomes ``s3://***:***@bucket/run?secret_key=***``;
    a user name without a password (``hdfs://alice@host/``) is kept. Text without URIs is returned
    unchanged, so it is safe to call on any message.
    """
    return _URI.sub(lambda m: _redact_uri(m.group(0)), text)


def _redact_uri(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        if ":" in userinfo or scheme.lower() in {"s3", "s3a", "s3n"}:  # an S3 user name is an access key
            userinfo = f"{MASK}:{MASK}" if ":" in userinfo else MASK
        authority = f"{userinfo}@{host}"
    if "?" in tail:
        path, query = tail.split("?", 1)
        fragment = ""
        if "#" in query:
            query, fragment = query.split("#", 1)
            fragment = "#" + fragment
        parts = [_redact_param(p) for p in query.split("&")]
        tail = f"{path}?{'&'.join(parts)}{fragment}"
    return f"{scheme}://{authority}{tail}"


def _redact_param(param: str) -> str:
    name, eq, value = param.partition("=")
    return f"{name}={MASK}" if eq and value and _SECRET_PARAM.search(name) else param


def has_credentials(uri: str) -> bool:
    """Whether ``uri`` carries a password in its user-info or a secret query parameter."""
    return redact(uri) != uri


def split_credentials(uri: str) -> tuple[str, dict[str, str]]:
    """(``uri`` without its S3 credentials, the AWS SDK environment variables that carry them).

    ``s3://KEY:SECRET@bucket/run?endpoint_override=h:9000`` gives
    ``("s3://bucket/run?endpoint_override=h:9000", {"AWS_ACCESS_KEY_ID": "KEY", "AWS_SECRET_ACCESS_KEY": "SECRET"})``;
    the ``access_key``, ``secret_key`` and ``session_token`` query parameters move too. Any other
    URI is returned as it is, with no variables.

    Raises:
        RunDirectoryError: a non-S3 URI with a password or secret parameter (its filesystem reads
            credentials from the nodes' environment instead), or an S3 user-info without a secret.
    """
    if not has_credentials(uri):
        return uri, {}
    parts = urlsplit(uri)
    if parts.scheme.lower() not in {"s3", "s3a", "s3n"}:
        raise RunDirectoryError(
            f"Storage `{redact(uri)}` carries credentials in the URI, which would be sent with the job and printed in its "
            "entrypoint and log. Remove them and give the filesystem its credentials on the cluster's nodes instead "
            "(its usual environment variables or credentials file, e.g. GOOGLE_APPLICATION_CREDENTIALS for gs://)."
        )
    env: dict[str, str] = {}
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        key, colon, secret = userinfo.partition(":")
        if not (colon and key and secret):
            raise RunDirectoryError(
                f"Storage `{redact(uri)}`: S3 credentials in a URI are `s3://ACCESS_KEY:SECRET_KEY@bucket/path`; found only one "
                "of the two. Give both, or none (then the nodes' AWS credentials are used)."
            )
        env.update(AWS_ACCESS_KEY_ID=unquote(key), AWS_SECRET_ACCESS_KEY=unquote(secret))
    kept = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _S3_PARAMS:
            env[_S3_PARAMS[name]] = value
        else:
            kept.append((name, value))
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept, safe=":/"), parts.fragment))
    if has_credentials(clean):
        raise RunDirectoryError(f"Storage `{redact(clean)}` still carries a secret query parameter paretosweep cannot move; remove it.")
    return clean, env


def storage_error(uri: str, error: BaseException, *, action: str = "use") -> RunDirectoryError:
    """A clear :class:`RunDirectoryError` for a pyarrow ``OSError`` raised on the storage ``uri``.

    Names the URI (redacted), what pyarrow said (redacted), and what to check: for network errors
    the endpoint, for refusals the credentials and the bucket.
    """
    said = redact(" ".join(str(error).split()))
    lowered = said.lower()
    if any(s in lowered for s in ("network_connection", "could not connect", "connection refused", "timed out", "resolve host")):
        fix = "The storage service cannot be reached: check the endpoint (endpoint_override, scheme) and the network."
    elif any(
        s in lowered for s in ("access denied", "access_denied", "accessdenied", "forbidden", "403", "invalidaccesskeyid", "signature")
    ):
        fix = (
            "The storage refused the request: check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY on the nodes, "
            "or in the URI) and the bucket's permissions."
        )
    elif any(s in lowered for s in ("nosuchbucket", "bucket does not exist", "404")):
        fix = "The bucket does not exist: create it, or fix the bucket name."
    else:
        fix = "Check the URI, its endpoint and its credentials."
    return RunDirectoryError(f"Cannot {action} storage `{redact(uri)}` ({said}). {fix}")
