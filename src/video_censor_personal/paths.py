"""Checks on relative file paths that come from outside (the Hub, a lock file).

A path from the Hub or from models.lock becomes a file under the model's directory.
One that is absolute or climbs out with `..` could overwrite anything the user owns,
so it is refused everywhere it enters.
"""

from __future__ import annotations

from pathlib import PurePosixPath


def is_safe_relative_path(path: str) -> bool:
    """True when `path` is a plain relative POSIX path that stays inside its directory."""
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return False
    if len(path) >= 2 and path[1] == ":":  # a Windows drive letter, e.g. C:foo
        return False
    parts = PurePosixPath(path).parts
    return all(part not in ("", ".", "..") for part in parts) and "//" not in path
