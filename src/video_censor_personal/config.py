"""models.toml: what the project wants. Parsing, validation and the manifest hash.

Every error names the file and the line and exits 2 (ManifestError). tomlkit keeps no
source positions for values, so lines are found by scanning the text for the table header
and the key (`_line_of`); that is a best effort that is right for hand-written files.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import tomlkit
from tomlkit.exceptions import ParseError

from video_censor_personal.errors import ManifestError

DEFAULT_ENDPOINT = "https://huggingface.co"
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_SETTINGS_KEYS = {"endpoint", "mirrors", "timeout", "retries", "jobs"}
_MODEL_KEYS = {"repo", "revision", "include", "exclude", "description", "analysis"}
_PREPROCESSING_KEYS = {"input-size", "mean", "std", "layout", "channels", "scale", "resize", "crop", "pad", "align",
                       "interpolation"}
_COMMON_ANALYSIS_KEYS = {"kind", "file", "labels", "flag", "threshold"} | _PREPROCESSING_KEYS
ANALYSIS_KEYS = {  # per kind: a key of another kind is a mistake worth naming (exit 2)
    "image-classifier": _COMMON_ANALYSIS_KEYS | {"output"},
    "object-detector": _COMMON_ANALYSIS_KEYS | {"iou"},
}
ANALYSIS_KINDS = tuple(ANALYSIS_KEYS)
_CHOICES = {"output": ("logits", "probabilities"), "layout": ("NCHW", "NHWC"), "channels": ("RGB", "BGR"),
            "resize": ("stretch", "letterbox"), "align": ("center", "top-left"),
            "interpolation": ("area", "bilinear", "opencv-bilinear")}


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
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path) -> Manifest:
    try:
        document = tomlkit.parse(text).unwrap()
    except ParseError as exc:
        raise ManifestError(f"{path}:{exc.line}: TOML syntax error: {exc}") from None
    where = _Where(path, text)
    unknown = set(document) - {"settings", "models"}
    if unknown:
        key = sorted(unknown)[0]
        where.fail(f"unknown key {key!r} (expected [settings] or [models.NAME])", None, key)
    settings = _parse_settings(_table(document, "settings", where, None), where)
    models_table = _table(document, "models", where, None)
    models = tuple(_parse_model(name, raw, where) for name, raw in models_table.items())
    return Manifest(path, settings, models)


class _Where:
    """Turns a (table, key) into `file:line:` for error messages."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()

    def fail(self, message: str, table: str | None, key: str | None = None, hint: str | None = None):
        line = _line_of(self.lines, table, key)
        raise ManifestError(f"{self.path}:{line}: {message}", hint=hint)


def _line_of(lines: list[str], table: str | None, key: str | None) -> int:
    """1-based line of `key` inside `[table]` (or of the header, or 1 when not found)."""
    start, header_line = 0, 1
    if table is not None:
        parts = [re.escape(p) for p in table.split(".")]
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(f'"?{p}"?' for p in parts) + r"\s*\]")
        found = next((i for i, text in enumerate(lines) if header.match(text)), None)
        if found is None:
            return 1
        start, header_line = found + 1, found + 1
    if key is None:
        return header_line
    key_pattern = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*[=.]")
    for index in range(start, len(lines)):
        if index > start - 1 and table is not None and lines[index].lstrip().startswith("["):
            break
        if key_pattern.match(lines[index]):
            return index + 1
    return header_line


def _table(raw: dict, key: str, where: _Where, table: str | None) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        where.fail(f"{key!r} must be a table", table, key)
    return value


def _parse_settings(raw: dict, where: _Where) -> Settings:
    _reject_unknown(raw, _SETTINGS_KEYS, where, "settings")
    endpoint = raw.get("endpoint")
    if endpoint is not None and not _is_http_url(endpoint):
        where.fail("endpoint must be an http(s) URL", "settings", "endpoint")
    mirrors = raw.get("mirrors", [])
    if not isinstance(mirrors, list) or not all(_is_mirror(m) for m in mirrors):
        where.fail(
            "mirrors must be a list of http(s) URL templates or file:// directories",
            "settings",
            "mirrors",
        )
    return Settings(
        endpoint=endpoint,
        mirrors=tuple(mirrors),
        timeout=_number(raw, "timeout", where, positive=True),
        retries=_integer(raw, "retries", where, minimum=0),
        jobs=_integer(raw, "jobs", where, minimum=1),
    )


def _number(raw: dict, key: str, where: _Where, positive: bool) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        where.fail(f"{key} must be a positive number of seconds, not {value!r}", "settings", key)
    return float(value)


def _integer(raw: dict, key: str, where: _Where, minimum: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        where.fail(f"{key} must be an integer >= {minimum}, not {value!r}", "settings", key)
    return value


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_mirror(value: object) -> bool:
    return isinstance(value, str) and (_is_http_url(value) or value.startswith(("file://", "s3://")))


def _reject_unknown(raw: dict, allowed: set[str], where: _Where, table: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        where.fail(
            f"unknown key {unknown[0]!r} in [{table}]",
            table,
            unknown[0],
            hint="allowed keys: " + ", ".join(sorted(allowed)),
        )


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
    _reject_unknown(raw, _MODEL_KEYS, where, table)
    repo = raw.get("repo")
    if repo is None:
        where.fail(f"model {name!r} has no repo", table, hint='add repo = "org/name"')
    if not isinstance(repo, str) or not REPO_ID.match(repo):
        where.fail(f"model {name!r}: repo must look like 'org/name', not {repo!r}", table, "repo")
    revision = raw.get("revision", "main")
    if not isinstance(revision, str) or not is_valid_revision(revision):
        where.fail(
            f"model {name!r}: malformed revision {revision!r} "
            "(a branch, a tag or a full 40-hex commit)",
            table,
            "revision",
        )
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        where.fail(f"model {name!r}: description must be a string", table, "description")
    analysis = raw.get("analysis")
    return ModelSpec(
        name=name,
        repo=repo,
        revision=revision,
        include=_patterns(raw, "include", ("*",), where, table),
        exclude=_patterns(raw, "exclude", (), where, table),
        description=description,
        analysis=None if analysis is None else _parse_analysis(name, analysis, where),
    )


def is_valid_revision(revision: str) -> bool:
    """git's ref-name rules, enough to refuse what no Hub branch or tag can be called."""
    if COMMIT_SHA.match(revision):
        return True
    if revision.startswith(("/", "-", ".")) or revision.endswith(("/", ".lock", ".")):
        return False
    if any(bad in revision for bad in ("..", "//", "@{", "\\")):
        return False
    return not any(ch in revision for ch in " ~^:?*[\t\n") and revision.isprintable()


def _patterns(raw: dict, key: str, default: tuple, where: _Where, table: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        where.fail(f"{key} must be a list of glob patterns", table, key)
    for pattern in value:
        problem = pattern_problem(pattern)
        if problem:
            where.fail(f"{key} pattern {pattern!r} is malformed: {problem}", table, key)
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
    return None


def _parse_analysis(name: str, raw: object, where: _Where) -> AnalysisSpec:
    table = f"models.{name}.analysis"
    if not isinstance(raw, dict):
        where.fail(f"model {name!r}: analysis must be a table", f"models.{name}", "analysis")
    kind, file = raw.get("kind"), raw.get("file")
    if kind not in ANALYSIS_KINDS:
        where.fail(f"model {name!r}: analysis kind must be one of: {', '.join(ANALYSIS_KINDS)}", table, "kind")
    _reject_unknown(raw, ANALYSIS_KEYS[kind], where, table)
    if not isinstance(file, str) or not file:
        where.fail(f"model {name!r}: analysis needs file = \"path/in/repo.onnx\"", table, "file")
    size = raw.get("input-size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        where.fail("input-size must be a positive integer", table, "input-size")
    choices = {key: _choice(raw, key, where, table) for key in _CHOICES}
    return AnalysisSpec(
        kind=kind,
        file=file,
        flag=_strings(raw, "flag", where, table, required=True),
        threshold=_fraction(raw, "threshold", 0.5, where, table),
        labels=_strings(raw, "labels", where, table),
        input_size=size,
        mean=_floats(raw, "mean", where, table),
        std=_floats(raw, "std", where, table, positive=True),
        output=choices["output"] or "logits",
        layout=choices["layout"] or "NCHW",
        channels=choices["channels"] or "RGB",
        scale=_positive(raw, "scale", 1 / 255, where, table),
        resize=choices["resize"],
        crop=_fraction(raw, "crop", 1.0, where, table, open_low=True),
        pad=_grey(raw, "pad", where, table),
        align=choices["align"] or "center",
        interpolation=choices["interpolation"] or "area",
        iou=_fraction(raw, "iou", 0.45, where, table),
    )


def _choice(raw: dict, key: str, where: _Where, table: str) -> str | None:
    value = raw.get(key)
    if value is not None and value not in _CHOICES[key]:
        *others, last = (repr(choice) for choice in _CHOICES[key])
        where.fail(f"{key} must be {', '.join(others)} or {last}, not {value!r}", table, key)
    return value


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fraction(raw: dict, key: str, default: float, where: _Where, table: str, open_low: bool = False) -> float:
    value = raw.get(key, default)
    if not _is_real(value) or not (0 < value <= 1 if open_low else 0 <= value <= 1):
        where.fail(f"{key} must be a number between 0 and 1, not {value!r}", table, key)
    return float(value)


def _grey(raw: dict, key: str, where: _Where, table: str) -> int:
    value = raw.get(key, 114)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        where.fail(f"{key} must be a grey level, an integer from 0 to 255, not {value!r}", table, key)
    return value


def _positive(raw: dict, key: str, default: float, where: _Where, table: str) -> float:
    value = raw.get(key, default)
    if not _is_real(value) or not value > 0:
        where.fail(f"{key} must be a positive number, not {value!r}", table, key)
    return float(value)


def _strings(raw: dict, key: str, where: _Where, table: str, required: bool = False):
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        where.fail(f"{key} must be a non-empty list of strings", table, key)
    return tuple(value)


def _floats(raw: dict, key: str, where: _Where, table: str, positive: bool = False):
    value = raw.get(key)
    if value is None:
        return None
    ok = isinstance(value, list) and len(value) == 3 and all(_is_real(v) for v in value)
    if not ok or (positive and not all(v > 0 for v in value)):
        kind = "positive numbers" if positive else "numbers"
        where.fail(f"{key} must be a list of 3 {kind}, one per channel in the order of `channels`", table, key)
    return tuple(float(v) for v in value)
