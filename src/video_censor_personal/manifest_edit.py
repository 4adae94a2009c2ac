"""`models add` / `models remove`: edit models.toml, then lock, all or nothing.

People write models.toml and keep comments in it, so an edit changes the bytes of the
edited table only. tomlkit alone is not enough for that: it files the comment above a
table header under the table before it, so deleting one table would take the next
table's comment with it. The edit is therefore a splice of the file's lines, planned from
the table headers, and then proved with tomlkit: the edited document must parse to the
old one plus (or minus) exactly that model. Should a layout defeat the splice (a model
written as dotted keys or an inline table), tomlkit's own edit is used instead.

Ownership of comments and blank lines, as a reader sees them:

    # comment right above a header          belongs to that table
    [models.a]
    repo = "org/a"
    # comment right after the last value   belongs to that table
                                            blank lines separate tables
    # comment after a blank line           belongs to what follows (next table or end of file)

Nothing is written before everything is known to work: the edited manifest is validated
and locked in memory first; then models.toml is written, then models.lock; should the
lock not be written, models.toml is put back byte for byte.

Two edits of one project at once (two terminals, parallel CI steps) would each read the
same models.toml and the second write would drop the first one's model; so every edit
(and `models lock`) reads, resolves and writes under one cross-process lock, `serialised`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import tomlkit
from tomlkit.exceptions import ParseError

from video_censor_personal.atomic import atomic_write_bytes
from video_censor_personal.config import (
    MODEL_NAME,
    REPO_ID,
    Manifest,
    ModelSpec,
    is_valid_revision,
    parse_manifest,
    pattern_problem,
)
from video_censor_personal.environment import Runtime
from video_censor_personal.errors import ManifestError, UsageError
from video_censor_personal.huggingface_registry import HubRegistry
from video_censor_personal.lockfile import Lockfile, write_lockfile
from video_censor_personal.locking import Resolution, Upgrade, read_previous_lock, resolve

_HEADER = re.compile(r"^\s*\[\[?(?P<key>[^\[\]]+)\]\]?\s*(#.*)?$")
# what `analyze` reads beside the model: labels (id2label) and preprocessing (size, mean, std)
ANALYSIS_SIDE_FILES = ("config.json", "preprocessor_config.json")
SMALL_FILE = 1 << 20  # a config.json is a few KiB: a larger one is not read to check labels


@dataclass(frozen=True)
class NewModel:
    """What `models add` was asked to declare."""

    name: str
    repo: str
    revision: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    description: str | None = None
    analysis: dict | None = None  # the [models.NAME.analysis] table: kind, file, flag, threshold


@dataclass(frozen=True)
class EditOutcome:
    """What an edit did: the lock it produced (with its advisories) and the lock before."""

    resolution: Resolution
    previous: Lockfile | None
    lock_written: bool


# ---------------------------------------------------------------- commands


@contextlib.contextmanager
def serialised(manifest_path: Path) -> Iterator[None]:
    """Hold the project's edit lock for a read-resolve-write of models.toml and models.lock.

    The lock file lives in the temp directory, named by the manifest's absolute path: beside
    models.toml it would show in every `git status`, in the cache it would fail where the
    cache is read-only. Mode 0666, so every user of a shared project takes the same lock.
    """
    import tempfile

    from filelock import FileLock

    key = hashlib.sha256(str(Path(manifest_path).resolve()).encode()).hexdigest()[:24]
    with FileLock(str(Path(tempfile.gettempdir()) / f"video-censor-edit-{key}.lock"), mode=0o666):
        yield


def add_model(manifest_path: Path, lockfile_path: Path, new: NewModel, runtime: Runtime,
              registry: HubRegistry | None = None) -> EditOutcome:
    """Declare `new` in models.toml and lock; refused before any write when it cannot work."""
    with serialised(manifest_path):
        return _add_model(manifest_path, lockfile_path, new, runtime, registry)


def _add_model(manifest_path: Path, lockfile_path: Path, new: NewModel, runtime: Runtime,
               registry: HubRegistry | None) -> EditOutcome:
    original = _read_bytes(manifest_path)
    text = _decode(original, manifest_path) if original is not None else ""
    manifest = parse_manifest(text, manifest_path)
    check_new_model(new, manifest)
    registry = registry or HubRegistry(runtime)
    if new.analysis is None:
        registry.head_commit(new.repo, new.revision or "main")  # a repo or revision that does not exist: exit 2
    else:
        new = with_analysis_files(new, {f.path for f in registry.snapshot(new.repo, new.revision or "main").files})
    return _apply(manifest_path, lockfile_path, original, add_table_text(text, new), runtime, registry,
                  check=lambda lock: check_flag_labels(new, lock, registry))


def remove_model(manifest_path: Path, lockfile_path: Path, name: str, runtime: Runtime,
                 registry: HubRegistry | None = None) -> EditOutcome:
    """Drop [models.NAME] (and its sub-tables) from models.toml and lock."""
    with serialised(manifest_path):
        return _remove_model(manifest_path, lockfile_path, name, runtime, registry)


def _remove_model(manifest_path: Path, lockfile_path: Path, name: str, runtime: Runtime,
                  registry: HubRegistry | None) -> EditOutcome:
    original = _read_bytes(manifest_path)
    if original is None:
        raise ManifestError(f"{manifest_path}: file not found", hint="pass --manifest PATH")
    text = _decode(original, manifest_path)
    if parse_manifest(text, manifest_path).model(name) is None:
        raise UsageError(f"{manifest_path} has no model named {name!r}",
                         hint="use the NAME of one of its [models.NAME] tables")
    return _apply(manifest_path, lockfile_path, original, remove_table_text(text, name), runtime, registry)


def check_new_model(new: NewModel, manifest: Manifest) -> None:
    """Refuse (exit 2) what models.toml could not hold, before asking the Hub anything."""
    where = str(manifest.path)
    if not MODEL_NAME.match(new.name):
        raise UsageError(f"bad model name {new.name!r}: use lowercase letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit")
    if manifest.model(new.name) is not None:
        raise UsageError(f"{where} already has a model named {new.name!r}",
                         hint=f"pick another name, or `video-censor models remove {new.name}` first")
    if not REPO_ID.match(new.repo):
        raise UsageError(f"repo must look like 'org/name', not {new.repo!r}")
    if new.revision is not None and not is_valid_revision(new.revision):
        raise UsageError(f"malformed revision {new.revision!r} (a branch, a tag or a full 40-hex commit)")
    for key, patterns in (("include", new.include), ("exclude", new.exclude)):
        for pattern in patterns:
            problem = pattern_problem(pattern)
            if problem:
                raise UsageError(f"{key} pattern {pattern!r} is malformed: {problem}")


def with_analysis_files(new: NewModel, repo_files: set[str]) -> NewModel:
    """`new` with its analysis file and the repo's config.json / preprocessor_config.json
    included, so that `analyze` finds labels and preprocessing right after the add."""
    file = new.analysis["file"]
    if file not in repo_files:
        onnx = sorted(path for path in repo_files if path.endswith(".onnx"))
        raise UsageError(f"{new.repo} has no file {file!r} for --file",
                         hint="its ONNX files: " + (", ".join(onnx[:10]) or "none"))
    # without --include, only what analyze reads: a repo often holds many variants of the weights
    spec = ModelSpec(new.name, new.repo, include=new.include or ("",), exclude=new.exclude)
    wanted = [path for path in (file, *ANALYSIS_SIDE_FILES) if path in repo_files and not spec.selects(path)]
    return replace(new, include=new.include + tuple(wanted))


def check_flag_labels(new: NewModel, lock: Lockfile, registry: HubRegistry) -> None:
    """A --flag label the model lacks would stop `analyze` (exit 2): refused here instead,
    when the locked config.json names the labels (its id2label). Labels from elsewhere (an
    ONNX file's metadata) are known only once the weights are downloaded: left to `analyze`."""
    model = lock.model(new.name)
    config = next((f for f in model.files if f.path == "config.json"), None) if model else None
    if not new.analysis or new.analysis.get("labels") or config is None or config.size > SMALL_FILE:
        return
    data = registry.read_small_file(new.repo, model.commit, config.path)
    if hashlib.sha256(data).hexdigest() != config.sha256:
        return  # not the locked bytes: never used (the download will refuse them)
    labels = _id2label(data)
    missing = [label for label in new.analysis["flag"] if label not in labels]
    if labels and missing:
        raise UsageError(f"{new.repo} has no label {missing[0]!r} for --flag",
                         hint="its labels (config.json id2label): " + ", ".join(labels))


def _id2label(data: bytes) -> tuple[str, ...]:
    """config.json's labels in output order, or () when it has none usable (`analyze` says why)."""
    try:
        ordered = sorted((int(index), str(label)) for index, label in json.loads(data)["id2label"].items())
    except (ValueError, KeyError, AttributeError, TypeError):
        return ()
    return tuple(label for _, label in ordered)


def _apply(manifest_path: Path, lockfile_path: Path, original: bytes | None, edited: str, runtime: Runtime,
           registry: HubRegistry | None, check: Callable[[Lockfile], None] | None = None) -> EditOutcome:
    """Lock the edited manifest in memory, `check` that lock, then write models.toml and
    models.lock, or neither."""
    manifest = parse_manifest(edited, manifest_path)
    previous, set_aside = read_previous_lock(lockfile_path)
    resolution = resolve(manifest, previous, runtime, Upgrade(), registry)
    resolution = replace(resolution, advisories=set_aside + resolution.advisories)
    if check is not None:
        check(resolution.lock)
    atomic_write_bytes(manifest_path, edited.encode("utf-8"))
    try:
        written = write_lockfile(lockfile_path, resolution.lock)
    except BaseException:
        _restore(manifest_path, original)
        raise
    return EditOutcome(resolution, previous, written)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")  # not read_text: that would turn CRLF into LF behind our back
    except UnicodeDecodeError:
        raise ManifestError(f"{path}:1: not UTF-8 text", hint="save models.toml as UTF-8") from None


def _restore(path: Path, original: bytes | None) -> None:
    if original is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write_bytes(path, original)


# ---------------------------------------------------------------- text edits (pure)


def add_table_text(text: str, new: NewModel) -> str:
    """`text` with a [models.NAME] table after the last model (else at the end); other bytes kept."""
    values: dict = {"repo": new.repo}
    optional = {"revision": new.revision, "include": list(new.include), "exclude": list(new.exclude),
                "description": new.description, "analysis": new.analysis}
    values.update({key: value for key, value in optional.items() if value})
    newline = "\r\n" if "\r\n" in text else "\n"
    snippet = tomlkit.dumps({"models": {new.name: values}}).replace("\n", newline)
    lines = text.splitlines(keepends=True)
    ends = [_table_span(lines, start, end)[1] for start, end, path in _blocks(lines) if path[:1] == ("models",)]
    at = max(ends, default=len(lines))
    head, tail = "".join(lines[:at]), "".join(lines[at:])
    if head and not head.endswith("\n"):
        head += newline
    if head.strip() and not head.endswith(newline * 2):
        head += newline  # one blank line before the new table
    if tail and tail.strip() and not _is_blank(tail.splitlines()[0]):
        snippet += newline
    edited = head + snippet + tail
    return _proved(text, edited, lambda models: models.__setitem__(new.name, values),
                   lambda doc: _tomlkit_add(doc, new.name, values))


def remove_table_text(text: str, name: str) -> str:
    """`text` without [models.NAME], its sub-tables and the comments that belong to them."""
    lines = text.splitlines(keepends=True)
    spans = [_table_span(lines, start, end) for start, end, path in _blocks(lines) if path[:2] == ("models", name)]
    removed = _tidy(lines, _merge(lines, spans))
    edited = "".join(line for index, line in enumerate(lines) if not _in_any(index, removed))
    return _proved(text, edited, lambda models: models.pop(name, None), lambda doc: doc["models"].remove(name))


def _blocks(lines: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(first line, end line, key path) of every [table] / [[array]] header's block."""
    headers = [(index, path) for index, line in enumerate(lines) if (path := _header_path(line))]
    ends = [index for index, _ in headers[1:]] + [len(lines)] * bool(headers)
    return [(index, end, path) for (index, path), end in zip(headers, ends, strict=True)]


def _header_path(line: str) -> tuple[str, ...] | None:
    match = _HEADER.match(line)
    if not match:
        return None
    try:
        value = tomlkit.parse(f"{match.group('key').strip()} = 0").unwrap()
    except (ParseError, ValueError):
        return None
    path: list[str] = []
    while isinstance(value, dict) and len(value) == 1:
        key, value = next(iter(value.items()))
        path.append(key)
    return tuple(path)


def _is_blank(line: str) -> bool:
    return not line.strip()


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _table_span(lines: list[str], header: int, end: int) -> tuple[int, int]:
    """The lines a table owns: comments right above its header, its body, comments right after."""
    last = max(i for i in range(header, end) if i == header or not (_is_blank(lines[i]) or _is_comment(lines[i])))
    blanks = [i for i in range(last + 1, end) if _is_blank(lines[i])]
    # without a blank line before the next header, the comments describe it; at the end, they are ours
    stop = blanks[0] if blanks else (last + 1 if end < len(lines) else end)
    start = header
    while start > 0 and _is_comment(lines[start - 1]):
        start -= 1
    return (header if start == 0 else start), stop  # the file's opening comment stays


def _merge(lines: list[str], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join spans separated by blank lines only (a table and its sub-table): wider than
    intervals.merge_intervals, which joins only spans that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and all(_is_blank(lines[i]) for i in range(merged[-1][1], start)):
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def _tidy(lines: list[str], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Take the blank lines a removal would double (or leave at the end of the file)."""
    tidy = []
    for start, stop in spans:
        if stop == len(lines):
            while start > 0 and _is_blank(lines[start - 1]):
                start -= 1
        elif start == 0 or _is_blank(lines[start - 1]):
            while stop < len(lines) and _is_blank(lines[stop]):
                stop += 1
        tidy.append((start, stop))
    return tidy


def _in_any(index: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= index < stop for start, stop in spans)


# ---------------------------------------------------------------- proof


def _proved(text: str, edited: str, change, tomlkit_change) -> str:
    """`edited` if it parses to `text` with `change` applied to its models; else tomlkit's edit."""
    expected = _document(text)
    change(expected.setdefault("models", {}))
    if _same(_document(edited, must_parse=False), expected):
        return edited
    document = tomlkit.parse(text)
    tomlkit_change(document)
    fallback = tomlkit.dumps(document)
    if not _same(_document(fallback, must_parse=False), expected):
        raise ManifestError("models.toml is laid out in a way this edit cannot handle safely",
                            hint="edit models.toml by hand, then run `video-censor models lock`")
    return fallback


def _tomlkit_add(document, name: str, values: dict) -> None:
    if "models" not in document:
        document.add("models", tomlkit.table(is_super_table=True))
    document["models"][name] = values


def _document(text: str, must_parse: bool = True) -> dict | None:
    try:
        return copy.deepcopy(tomlkit.parse(text).unwrap())
    except ParseError:
        if must_parse:
            raise
        return None


def _same(document: dict | None, expected: dict) -> bool:
    if document is None:
        return False
    return _without_empty_models(document) == _without_empty_models(expected)


def _without_empty_models(document: dict) -> dict:
    return {key: value for key, value in document.items() if not (key == "models" and value == {})}
