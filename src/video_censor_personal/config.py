"""models.toml: what the project wants. Parsing, validation and the manifest hash.

Every error names the file and the line and exits 2 (ManifestError). The text is read by
tomli (toml_reading.py: fast, and a duplicate key is a syntax error with its line);
tomlkit is for edits only. Neither keeps source positions for values, so the line of a
bad value is found by scanning the text for its table header and key (`_line_of`): a best
effort that is right for hand-written files.

Validation is table-driven: each table's allowed keys map to a check that returns the
value to keep or raises Invalid with the reason (`SETTINGS_KEYS`, `MODEL_KEYS`,
`ANALYSIS_KEYS`). A new key is one row there plus its dataclass field (`input-size` is
the field `input_size`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from video_censor_personal.checks import (
    Invalid,
    choice,
    endpoint_url,
    fraction,
    fraction_above_zero,
    grey_level,
    integer_from,
    mirror_urls,
    non_empty_string,
    number_list,
    positive_number,
    positive_seconds,
    shown,
    string,
    string_list,
    table,
)
from video_censor_personal.errors import ManifestError
from video_censor_personal.toml_reading import TomlSyntaxError, parse_toml

DEFAULT_ENDPOINT = "https://huggingface.co"
# \Z, not $: `$` also matches before a final newline, and "a\n" is no model name.
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*\Z")
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}\Z")
ANALYSIS_KINDS = ("image-classifier", "object-detector")


@dataclass(frozen=True)
class Settings:
    """The [settings] table; None where the file does not say (defaults come later)."""

    endpoint: str | None = None
    mirrors: tuple[str, ...] = ()
    timeout: float | None = None
    retries: int | None = None
    jobs: int | None = None


@dataclass(frozen=True)
class AnalysisSpec:
    """How `analyze` uses a model; does not affect the lock."""

    kind: str
    file: str
    flag: tuple[str, ...]
    threshold: float = 0.5
    labels: tuple[str, ...] | None = None
    input_size: int | None = None
    mean: tuple[float, ...] | None = None  # per input channel, in the order of `channels`
    std: tuple[float, ...] | None = None
    output: str = "logits"
    layout: str = "NCHW"
    channels: str = "RGB"
    scale: float = 1 / 255  # pixels (0-255) times scale, before (x - mean) / std
    resize: str | None = None  # None: the kind's default ("stretch" or "letterbox")
    crop: float = 1.0  # the central fraction of the resized frame the model sees (timm's crop_pct)
    pad: int = 114  # letterbox: the border's grey level, 0-255
    align: str = "center"  # letterbox: where the frame sits, "center" or "top-left"
    interpolation: str = "area"  # how frames are scaled: "area", "bilinear" (as PIL), "opencv-bilinear"
    iou: float = 0.45  # object-detector: boxes overlapping more than this are one box


@dataclass(frozen=True)
class ModelSpec:
    """One [models.NAME] table, defaults filled in."""

    name: str
    repo: str
    revision: str = "main"
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    description: str | None = None
    analysis: AnalysisSpec | None = None

    def selects(self, path: str) -> bool:
        """Hugging Face glob semantics: fnmatch (`*` crosses `/`), `dir/` means `dir/*`."""
        return _matches_any(path, self.include) and not _matches_any(path, self.exclude)

    @property
    def request(self) -> tuple:
        """(repo, revision, include, exclude): what a lock entry was made for (LockedModel.request)."""
        return self.repo, self.revision, self.include, self.exclude

    def resolution_key(self) -> dict:
        """What of this model the lock depends on (the manifest hash covers exactly this)."""
        return {
            "name": self.name,
            "repo": self.repo,
            "revision": self.revision,
            "include": list(self.include),
            "exclude": list(self.exclude),
        }


@dataclass(frozen=True)
class Manifest:
    path: Path
    settings: Settings = field(default_factory=Settings)
    models: tuple[ModelSpec, ...] = ()

    def model(self, name: str) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name), None)


def _matches_any(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, p + "*" if p.endswith("/") else p) for p in patterns)


def manifest_hash(manifest: Manifest) -> str:
    """sha256 over name, repo, revision, include, exclude of every model, sorted by name.

    Comments, layout, description, analysis tables and [settings] do not change it, so
    `lock --check` only fails when resolution would really change.
    """
    keys = [model.resolution_key() for model in sorted(manifest.models, key=lambda m: m.name)]
    canonical = json.dumps(keys, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- loading


def load_manifest(path: Path) -> Manifest:
    """Read and validate models.toml."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            f"{path}: file not found",
            hint="create it (`video-censor models add --help`) or pass --manifest PATH",
        ) from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}:1: not UTF-8 text", hint="save models.toml as UTF-8") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read it: {exc.strerror}", hint="pass --manifest PATH") from None
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path) -> Manifest:
    try:
        document = parse_toml(text)
    except TomlSyntaxError as exc:
        raise ManifestError(f"{path}:{exc.line}: TOML syntax error: {exc.reason}",
                            hint="fix the TOML at that line (a key or table may appear only once)") from None
    where = _Where(path, text)
    _reject_unknown(document, {"settings": None, "models": None}, where, None)
    settings = Settings(**_checked(_table(document, "settings", where, None), SETTINGS_KEYS, where, "settings"))
    models_table = _table(document, "models", where, None)
    models = tuple(_parse_model(name, raw, where) for name, raw in models_table.items())
    return Manifest(path, settings, models)


class _Where:
    """Turns a (table, key) into `file:line:` for error messages."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.removeprefix("\ufeff").splitlines()

    def fail(self, message: str, table: str | None, key: str | None = None, hint: str | None = None):
        line = _line_of(self.lines, table, key)
        raise ManifestError(f"{self.path}:{line}: {message}", hint=hint)


def _line_of(lines: list[str], table: str | None, key: str | None) -> int:
    """1-based line of `key` inside `[table]` (or of the header, or 1 when not found).

    A top-level key may be a table of its own (`[setings]`): then its header's line.
    """
    if table is None and key is not None:
        found = _header_line(lines, key, prefix=True)
        if found is not None:
            return found
    start = header_line = 1
    if table is not None:
        found = _header_line(lines, table)
        if found is None:
            return 1
        start = header_line = found
    if key is None:
        return header_line
    key_pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*[=.]")
    for index in range(start - 1 if table is None else start, len(lines)):
        if table is not None and lines[index].lstrip().startswith("["):
            break
        if key_pattern.match(lines[index]):
            return index + 1
    return header_line


def _header_line(lines: list[str], table: str, prefix: bool = False) -> int | None:
    """Line of `[table]` / `[[table]]` (with prefix: also of `[table.sub]`)."""
    parts = [re.escape(p) for p in table.split(".")]
    end = r"\s*[\].]" if prefix else r"\s*\]"
    header = re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(f"[\"']?{p}[\"']?" for p in parts) + end)
    return next((i + 1 for i, text in enumerate(lines) if header.match(text)), None)


def _table(raw: dict, key: str, where: _Where, table: str | None) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        where.fail(f"{key!r} must be a table", table, key)
    return value


def _reject_unknown(raw: dict, allowed, where: _Where, table: str | None) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        place = f"[{table}]" if table else f"{where.path.name} (expected [settings] or [models.NAME])"
        where.fail(
            f"unknown key {unknown[0]!r} in {place}",
            table,
            unknown[0],
            hint="allowed keys: " + ", ".join(sorted(allowed)),
        )


def _checked(raw: dict, keys: dict, where: _Where, table: str, scope: str = "") -> dict:
    """Every key of `raw` through its row of `keys`, named as dataclass fields (`a-b` -> a_b)."""
    _reject_unknown(raw, keys, where, table)
    values = {}
    for key, value in raw.items():
        try:
            values[key.replace("-", "_")] = keys[key](value)
        except Invalid as exc:
            where.fail(f"{scope}{key} {exc.reason}", table, key, hint=exc.hint)
    return values


# ---------------------------------------------------------------- [settings]


SETTINGS_KEYS = {
    "endpoint": endpoint_url,
    "mirrors": mirror_urls,
    "timeout": positive_seconds,
    "retries": integer_from(0),
    "jobs": integer_from(1),
}


# ---------------------------------------------------------------- [models.NAME]


def repo_id(value: object) -> str:
    if not isinstance(value, str) or not REPO_ID.match(value):
        raise Invalid(f"must look like 'org/name', not {shown(value)}")
    return value


def revision(value: object) -> str:
    if value == "":
        raise Invalid("must not be empty: a branch, a tag or a full 40-hex commit",
                      hint='leave the line out for "main", or name a branch, a tag or a commit')
    if not isinstance(value, str) or not is_valid_revision(value):
        raise Invalid(f"{shown(value)} is malformed: a branch, a tag or a full 40-hex commit")
    return value


def is_valid_revision(revision: str) -> bool:
    """git's ref-name rules, enough to refuse what no Hub branch or tag can be called."""
    if COMMIT_SHA.match(revision):
        return True
    if not revision or revision.startswith(("/", "-", ".")) or revision.endswith(("/", ".lock", ".")):
        return False
    if any(bad in revision for bad in ("..", "//", "@{", "\\")):
        return False
    return not any(ch in revision for ch in " ~^:?*[\t\n") and revision.isprintable()


def patterns(value: object) -> tuple[str, ...]:
    """A list of globs (may be empty); a bare string is refused, not taken as a one-item list."""
    if isinstance(value, str):
        raise Invalid(f"must be a list of glob patterns, not the string {shown(value)}",
                      hint=f"write a list: [{json.dumps(value)}]")
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise Invalid(f"must be a list of glob patterns, not {shown(value)}")
    for pattern in value:
        problem = pattern_problem(pattern)
        if problem:
            raise Invalid(f"pattern {pattern!r} is malformed: {problem}")
    return tuple(value)


def pattern_problem(pattern: str) -> str | None:
    """Why a glob can never match a repo file, or None when it is fine."""
    if not pattern.strip():
        return "it is empty"
    if pattern.startswith("/"):
        return "paths in a repo are relative: drop the leading '/'"
    if ".." in pattern.split("/"):
        return "'..' cannot appear in a repo path"
    if pattern.count("[") != pattern.count("]"):
        return "unbalanced '[' ']'"
    if not pattern.isprintable():
        return "it holds a control character"
    return None


MODEL_KEYS = {
    "repo": repo_id,
    "revision": revision,
    "include": patterns,
    "exclude": patterns,
    "description": string,
    "analysis": table,  # its own table, checked by _parse_analysis
}



def _parse_model(name: str, raw: object, where: _Where) -> ModelSpec:
    table = f"models.{name}"
    if not MODEL_NAME.match(name):
        where.fail(
            f"bad model name {name!r}: use lowercase letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit)",
            table,
        )
    if not isinstance(raw, dict):
        where.fail(f"[models.{name}] must be a table", "models", name)
    if "repo" not in raw:
        where.fail(f"model {name!r} has no repo", table, hint='add repo = "org/name"')
    values = _checked(raw, MODEL_KEYS, where, table, scope=f"model {name!r}: ")
    analysis = values.pop("analysis", None)
    return ModelSpec(name=name, **values, analysis=None if analysis is None else _parse_analysis(name, analysis, where))


# ---------------------------------------------------------------- [models.NAME.analysis]


ANALYSIS_KEYS = {
    "kind": choice(*ANALYSIS_KINDS),
    "file": non_empty_string,
    "labels": string_list,
    "flag": string_list,
    "threshold": fraction,
    # preprocessing
    "input-size": integer_from(1),
    "mean": number_list(3),
    "std": number_list(3, positive=True),
    "layout": choice("NCHW", "NHWC"),
    "channels": choice("RGB", "BGR"),
    "scale": positive_number,
    "resize": choice("stretch", "letterbox"),
    "crop": fraction_above_zero,
    "pad": grey_level,
    "align": choice("center", "top-left"),
    "interpolation": choice("area", "bilinear", "opencv-bilinear"),
    # one kind's own
    "output": choice("logits", "probabilities"),
    "iou": fraction,
}
_OTHER_KINDS_KEYS = {  # a key of another kind is a mistake worth naming (exit 2)
    "image-classifier": {"iou"},
    "object-detector": {"output"},
}
ANALYSIS_REQUIRED = {"kind": f"kind = \"{ANALYSIS_KINDS[0]}\"", "file": 'file = "path/in/repo.onnx"',
                     "flag": 'flag = ["LABEL"]'}


def _parse_analysis(name: str, raw: dict, where: _Where) -> AnalysisSpec:
    table = f"models.{name}.analysis"
    for key, example in ANALYSIS_REQUIRED.items():
        if key not in raw:
            where.fail(f"model {name!r}: analysis needs {key}", table, hint=f"add {example}")
    if raw["kind"] not in ANALYSIS_KINDS:
        where.fail(f"model {name!r}: analysis kind must be one of: {', '.join(ANALYSIS_KINDS)}", table, "kind")
    keys = {key: check for key, check in ANALYSIS_KEYS.items() if key not in _OTHER_KINDS_KEYS[raw["kind"]]}
    return AnalysisSpec(**_checked(raw, keys, where, table, scope=f"model {name!r}: analysis "))
