"""HTTP plumbing for pull connectors: one session with retries and backoff, JSON pages, secret-free errors.

Every message built here names the URL without its query string or user info, and every secret the
caller declares is masked, because run errors are stored in load_run and shown on the admin page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from connectors.base import ConnectorError, mask_secrets

# 429 and the gateway family are transient by nature; other 4xx mean the request itself is wrong.
RETRY_STATUSES = (429, 500, 502, 503, 504)
_QUERY_IN_TEXT = re.compile(r"""(https?://[^\s?'"<>]*)\?[^\s'"<>)]*""")
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


class CappedRetry(Retry):
    """urllib3 Retry with a capped Retry-After wait: a server asking for an hour must not stall the scheduler.

    Newer urllib3 has `retry_after_max`; this works on every 2.x release and takes fractions of a second.
    """

    def __init__(self, *args: Any, max_retry_after_s: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_retry_after_s = max_retry_after_s

    def new(self, **kwargs: Any) -> CappedRetry:
        retry = super().new(**kwargs)
        retry.max_retry_after_s = self.max_retry_after_s  # Retry.new() only copies its own parameters
        return retry

    def get_retry_after(self, response) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None  # a garbled Retry-After falls back to exponential backoff
        if seconds is not None and self.max_retry_after_s is not None:
            seconds = min(seconds, self.max_retry_after_s)
        return seconds


def make_session(
    *, retries: int, backoff_s: float, max_wait_s: float, headers: Mapping[str, str], verify_tls: bool
) -> requests.Session:
    """A session that retries connects, reads and transient statuses with exponential backoff."""
    retry = CappedRetry(
        total=retries, connect=retries, read=retries, status=retries,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
        backoff_factor=backoff_s, backoff_max=max_wait_s,
        respect_retry_after_header=True, max_retry_after_s=max_wait_s,
        # Hand back the last response when retries run out, so the error can name its status.
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(headers)
    session.verify = verify_tls
    return session


def clean_url(url: str) -> str:
    """The URL as it may be shown and stored: no user info, query string or fragment (they carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def same_origin(a: str, b: str) -> bool:
    """True when b is served by the same scheme, host and port as a: only then may credentials follow."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


class Redactor:
    """Masks declared secret values and query strings in any text that may reach a log or load_run."""

    def __init__(self, secrets: Iterable[str]):
        self.secrets = tuple(secrets)

    def __call__(self, text: str) -> str:
        return _QUERY_IN_TEXT.sub(r"\1?…", mask_secrets(text, self.secrets))


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost reason of a requests/urllib3 error chain (MaxRetryError.reason and friends)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        inner = getattr(exc, "reason", None) if isinstance(exc, MaxRetryError) else inner
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def get(
    session: requests.Session,
    url: str,
    params: Mapping[str, str] | None,
    *,
    timeout_s: float,
    retries: int,
    where: str,
    redact: Redactor,
) -> requests.Response:
    """GET with the session's retries; any failure becomes a ConnectorError naming `where`, never a secret."""
    try:
        # verify per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify = False
        # (psf/requests#3829), which would make verify_tls = false do nothing on a machine that sets them.
        response = session.get(url, params=params, timeout=(timeout_s, timeout_s), verify=session.verify)
    except requests.exceptions.SSLError:
        raise ConnectorError(
            f"{where}: TLS certificate not trusted; install the plant CA or, for a plant-internal server "
            f"only, set verify_tls = false"
        ) from None
    except requests.exceptions.RequestException as exc:
        cause = _root_cause(exc)
        tries = f"{retries + 1} attempt{'s' if retries else ''}"
        if isinstance(exc, requests.exceptions.Timeout) or (
            isinstance(cause, Urllib3Timeout) and not isinstance(cause, NewConnectionError)
        ):
            raise ConnectorError(f"{where}: no answer within timeout_s = {timeout_s:g} s ({tries})") from None
        reason = redact(_OBJECT_REPR.sub("", str(cause)) or type(cause).__name__)
        raise ConnectorError(f"{where}: request failed after {tries}: {reason}") from None
    if response.status_code >= 400:
        raise ConnectorError(f"{where}: {describe_status(response, retries, redact)}")
    return response


def describe_status(response: requests.Response, retries: int, redact: Redactor) -> str:
    """'HTTP 401 Unauthorized: check token ...' with a short, redacted excerpt of what the server said."""
    status = response.status_code
    text = f"HTTP {status} {response.reason or ''}".rstrip()
    if status in RETRY_STATUSES:
        text += f" still after {retries} retr{'y' if retries == 1 else 'ies'}"
    elif status in (401, 403):
        text += " (check token, auth_header and headers)"
    elif status == 404:
        text += " (check url)"
    body = " ".join(response.text[:300].split())
    return text + (f"; the server said: {redact(body)[:200]}" if body else "")


def json_body(response: requests.Response, where: str, redact: Redactor) -> Any:
    """The decoded JSON body; a malformed one fails with where the parser stopped and how the body starts."""
    try:
        return response.json()
    except ValueError as exc:  # requests.JSONDecodeError subclasses ValueError
        start = " ".join(response.text[:80].split())
        detail = redact(str(exc))
        raise ConnectorError(
            f"{where}: response is not valid JSON ({detail}); it starts with: {redact(start)!r}"
        ) from None
