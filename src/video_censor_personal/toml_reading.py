"""Reading models.toml and models.lock: the standard library's TOML parser, with line numbers.

Every command reads both files on start, and a no-op `--download-models` is little else.
tomlkit, which keeps comments and layout, takes 1.3 s over a 2,000-file lock; the standard
library's tomllib 60 ms; tomli (the same parser, published compiled with mypyc) 20 ms. So
reading uses tomli and only the edits (`models add` / `remove`, manifest_edit.py) use tomlkit.

A syntax error comes back as TomlSyntaxError(line, reason) for the caller to turn into its
own error class; a duplicate key or table is one of them (TOML forbids both).
"""

from __future__ import annotations

import re

import tomli

BOM = "\ufeff"
_POSITION = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")


class TomlSyntaxError(ValueError):
    """Text that is not TOML: the 1-based line where the parser gave up, and why."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


def parse_toml(text: str) -> dict:
    """The TOML document as plain dicts and lists; a UTF-8 byte-order mark is ignored.

    Editors on Windows put the mark at the start of a file; it is not TOML, but it is
    not the user's mistake either.
    """
    text = text.removeprefix(BOM)
    _refuse_lone_carriage_returns(text)
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise TomlSyntaxError(_line_of_error(exc, text), _POSITION.sub("", str(exc))) from None


def _line_of_error(exc: Exception, text: str) -> int:
    """tomli says `(at line N, column C)` or `(at end of document)`; newer ones also set lineno."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    found = _POSITION.search(str(exc))
    if found and found.group(1):
        return int(found.group(1))
    return max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)


def _refuse_lone_carriage_returns(text: str) -> None:
    """A CR not followed by LF (old Mac line ends) is no TOML line end: name the line it ends.

    tomli would report all of such a file as line 1, which the user's editor contradicts.
    """
    position = re.search(r"\r(?!\n)", text)
    if position is None:
        return
    before = text[: position.start()]
    line = before.count("\n") + len(re.findall(r"\r(?!\n)", before)) + 1
    raise TomlSyntaxError(line, "line ends must be LF or CRLF, not a lone CR (save the file with Unix or Windows "
                                "line endings)")
