"""Which endpoint and mirror URLs are usable, decided before any work (DESIGN "URLs are checked").

A mirror is an absolute `http(s)://HOST...` URL (or template), a `file:///ABS/PATH`
directory or an `s3://BUCKET/PREFIX`; an endpoint is an absolute `http(s)://HOST` URL.
Anything else is a configuration mistake: it is refused at once with a hint showing the
form that was probably meant, never retried and never silently dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

MIRROR_SCHEMES = ("http", "https", "file", "s3")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d+(/.*)?$")


def endpoint_problem(value: str) -> str | None:
    """Why `value` cannot be a Hub endpoint, or None."""
    parts = _split(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s):// URL"
    return None


def mirror_problem(value: str) -> str | None:
    """Why `value` cannot be a mirror, or None."""
    parts = _split(value)
    if parts is None or parts.scheme not in MIRROR_SCHEMES:
        return "is not an http(s)://, file:/// or s3:// URL"
    if parts.scheme == "file":
        if not value.startswith("file://") or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return "is not an absolute file:/// URL"
        return None
    if not parts.netloc:
        return f"has no {'bucket' if parts.scheme == 's3' else 'host'} after {parts.scheme}://"
    return None


def url_hint(value: str, endpoint: bool = False) -> str:
    """The URL the user probably meant: `file:///ABS/PATH` for a path, http:// for host:port."""
    if _HOST_PORT.match(value):
        return f"did you mean http://{value}?"
    scheme = value.partition(":")[0].lower() if ":" in value else ""
    if endpoint or (scheme not in ("", "file") and "://" in value):
        return ("write the endpoint as http://HOST[:PORT] or https://HOST" if endpoint else
                "write a mirror as https://HOST/..., file:///ABS/PATH or s3://BUCKET/PREFIX")
    return f"did you mean {_file_uri(value)}? (mirrors are file:///ABS/PATH)"


def _file_uri(value: str) -> str:
    """`/tmp/x`, `file:x` (relative to here) and `file://srv/x` (a host where a path was meant)."""
    path = value
    if value.lower().startswith("file://"):
        path = "/" + value[len("file://"):].lstrip("/")
    elif value.lower().startswith("file:"):
        path = value[len("file:"):]
    return Path(path or ".").expanduser().absolute().as_uri()


def _split(value: object):
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts
