"""Value checks for the rows of config.py's key tables: each returns the value to keep.

A check raises Invalid with the end of a sentence that starts with the key's name
(`timeout` + `must be a positive number of seconds, not 'slow'`) and, where there is an
obvious fix, a hint. TOML gives booleans as ints' subclass, so every number check
refuses bool explicitly: `jobs = true` is a mistake, not 1. The URL checks of [settings]
are here too; what makes a URL usable is urls.py's (shared with the command line).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from video_censor_personal.urls import endpoint_problem, mirror_problem, url_hint

Check = Callable[[object], object]
_SHOWN = 60


class Invalid(ValueError):
    """A value that a key does not accept."""

    def __init__(self, reason: str, hint: str | None = None):
        super().__init__(reason)
        self.reason, self.hint = reason, hint


def shown(value: object) -> str:
    """A value as an error message quotes it: repr, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_seconds(value: object) -> float:
    if not _is_number(value) or not value > 0 or value == float("inf"):
        raise Invalid(f"must be a positive number of seconds, not {shown(value)}")
    return float(value)


def integer_from(minimum: int) -> Check:
    def check(value: object) -> int:
        if not _is_number(value) or not isinstance(value, int) or value < minimum:
            raise Invalid(f"must be an integer >= {minimum}, not {shown(value)}")
        return value

    return check


def fraction(value: object) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise Invalid(f"must be a number between 0 and 1, not {shown(value)}")
    return float(value)


def string(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, not {shown(value)}")
    return value


def non_empty_string(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a non-empty string, not {shown(value)}")
    return value


def choice(*allowed: str) -> Check:
    def check(value: object) -> str:
        if value not in allowed:
            raise Invalid(f"must be one of: {', '.join(allowed)}, not {shown(value)}")
        return value

    return check


def string_list(value: object) -> tuple[str, ...]:
    """A non-empty list of strings; a bare string is refused (it is not a one-item list)."""
    if isinstance(value, str):
        raise Invalid(f"must be a list of strings, not the string {shown(value)}",
                      hint=f"write a list: [{json.dumps(value)}]")
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise Invalid(f"must be a non-empty list of strings, not {shown(value)}")
    return tuple(value)


def number_list(length: int) -> Check:
    def check(value: object) -> tuple[float, ...]:
        if not isinstance(value, list) or len(value) != length or not all(_is_number(v) for v in value):
            raise Invalid(f"must be a list of {length} numbers, not {shown(value)}")
        return tuple(float(v) for v in value)

    return check


def table(value: object) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f"must be a table, not {shown(value)}")
    return value


def endpoint_url(value: object) -> str:
    """An endpoint of [settings]: an absolute http(s) URL (urls.py says why not)."""
    problem = endpoint_problem(value) if isinstance(value, str) else "must be a string"
    if problem:
        raise Invalid(f"must be an http(s) URL: {shown(value)} {problem}",
                      hint=url_hint(value, endpoint=True) if isinstance(value, str) else None)
    return value


def mirror_urls(value: object) -> tuple[str, ...]:
    """[settings] mirrors: a list of http(s)://, file:/// or s3:// URLs (urls.py)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"must be a list of URL strings, not {shown(value)}")
    for item in value:
        problem = mirror_problem(item)
        if problem:
            raise Invalid(f"entry {shown(item)} {problem}", hint=url_hint(item))
    return tuple(value)
