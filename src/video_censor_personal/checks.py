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


def fraction_above_zero(value: object) -> float:
    """A share of something that cannot be nothing (a crop of 0 would leave no pixel)."""
    if not _is_number(value) or not 0 < value <= 1:
        raise Invalid(f"must be a number between 0 and 1, not {shown(value)}")
    return float(value)


def positive_number(value: object) -> float:
    if not _is_number(value) or not 0 < value < float("inf"):
        raise Invalid(f"must be a positive number, not {shown(value)}")
    return float(value)


def grey_level(value: object) -> int:
    if not _is_number(value) or not isinstance(value, int) or not 0 <= value <= 255:
        raise Invalid(f"must be a grey level, an integer from 0 to 255, not {shown(value)}")
    return value


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
            *others, last = (repr(item) for item in allowed)
            raise Invalid(f"must be {', '.join(others)} or {last}, not {shown(value)}")
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


def number_list(length: int, positive: bool = False) -> Check:
    """`length` numbers, one per channel in the order of `channels` (std: none may be 0)."""
    kind = "positive numbers" if positive else "numbers"

    def check(value: object) -> tuple[float, ...]:
        ok = isinstance(value, list) and len(value) == length and all(_is_number(v) for v in value)
        if not ok or (positive and not all(0 < v < float("inf") for v in value)):
            raise Invalid(f"must be a list of {length} {kind}, one per channel in the order of `channels`, "
                          f"not {shown(value)}")
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
