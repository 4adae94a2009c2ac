"""The locked models as a Hugging Face cache, so huggingface_hub and transformers load them offline.

The layout is huggingface_hub's own (drawn in its file_download.py):

    {hub cache}/                                 HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub
    ├── .locks/models--ORG--NAME/<etag>.lock     huggingface_hub's lock of one blob, held while we write it
    └── models--ORG--NAME/
        ├── blobs/<etag>                         an LFS file's sha256, a plain file's git blob sha1
        ├── refs/<revision>                      the commit the requested revision ("main") was locked at
        └── snapshots/<commit>/<path>            relative symlink to ../../blobs/<etag>

The etag is the name huggingface_hub gives a blob when it downloads it, so a later online
download of the same file by huggingface_hub finds it and fetches nothing.

Only the lock's bytes get there. The files come from our verified cache (made ready the way
`models export` makes them ready); each blob is a hardlink of the verified file (no space, no
time), else a reflink (a copy-on-write clone on Btrfs, XFS, bcachefs), else a copy hashed as it
is written, and it reaches its name by a rename, whole. A second run finds everything in place
and changes nothing.

Which files are LFS is not in the lock: the Hub's file list says it (one metadata request per
model). Offline it is guessed from the Hub's own rules (its default .gitattributes, and no plain
file above 10 MiB); a wrong guess only names a blob differently from huggingface_hub, which would
then fetch that file once more if asked to online. The bytes and the offline loads are the same.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from video_censor_personal.atomic import atomic_write_bytes
from video_censor_personal.cache import CHUNK, copy_verified, temp_beside
from video_censor_personal.errors import DiskSpaceError, IntegrityError, LockfileError, UsageError, VideoCensorError
from video_censor_personal.lockfile import LockedFile, LockedModel
from video_censor_personal.paths import is_safe_relative_path
from video_censor_personal.plan import DOWNLOAD_HINT

# The LFS patterns of the .gitattributes the Hub writes into every new model repo.
HUB_LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel",
    "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt",
    "*.pth", "*.rar", "*.safetensors", "saved_model/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz",
    "*.zip", "*.zst", "*tfevents*",
)  # fmt: skip
HUB_PLAIN_MAX = 10 << 20  # the Hub refuses a plain (non-LFS) file above 10 MiB
LINKED, COPIED, IN_PLACE = "linked", "copied", "in place"
_FICLONE = 0x40049409  # linux/fs.h FICLONE: clone a whole file; Python has no call for it


@dataclass(frozen=True)
class HfCacheExport:
    """What `models export --hf-cache` did."""

    directory: Path
    models: int
    files: int
    linked: int  # hardlinked or reflinked: no bytes copied
    copied_bytes: int
    guessed: tuple[str, ...] = ()  # models whose LFS files were guessed (Hub not asked)


def hub_cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The cache huggingface_hub uses, found as it finds it (its constants.py)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            return Path(env[name]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "huggingface" / "hub"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".cache" / "huggingface" / "hub"


def repo_folder(repo: str) -> str:
    """`models--ORG--NAME`: huggingface_hub's folder of a model repo (no `/`, so it cannot escape)."""
    return "models--" + repo.replace("/", "--")


def export_hf_cache(manager, directory: Path) -> HfCacheExport:
    """Every locked model of `manager` into the Hugging Face cache `directory`, verified."""
    manager.ensure_ready(manager.lock.names, download=False, hint=DOWNLOAD_HINT + ", then export again")
    views = {(f.model, f.locked.path): f.view for f in manager.plan().files()}
    refs = {model.name: _ref_path(directory / repo_folder(model.repo), model) for model in manager.lock.models}
    done, guessed = [], []
    try:
        for model in manager.lock.models:
            lfs, was_guessed = lfs_paths(model, manager.runtime)
            guessed += [model.name] if was_guessed else []
            done += [(_export_file(directory, model, f, views[model.name, f.path], f.path in lfs), f.size)
                     for f in model.files]
            _write_ref(refs[model.name], model.commit)
    except OSError as exc:
        raise _write_error(directory, exc) from None
    return HfCacheExport(directory, len(manager.lock.models), len(done), sum(how == LINKED for how, _ in done),
                         sum(size for how, size in done if how == COPIED), tuple(guessed))


def _write_error(directory: Path, exc: OSError) -> VideoCensorError:
    if exc.errno == errno.ENOSPC:
        return DiskSpaceError(f"not enough disk space in the Hugging Face cache {directory}",
                              details=[str(exc)], hint="free some space and run the same command again")
    return UsageError(f"cannot write the Hugging Face cache {directory}: {exc.strerror or exc}",
                      details=[str(exc.filename)] if exc.filename else [],
                      hint="pass --hf-cache DIR with a directory you can write to (or set HF_HUB_CACHE)")


# ---------------------------------------------------------------- which files are LFS


def lfs_paths(model: LockedModel, runtime) -> tuple[set[str], bool]:
    """(paths stored in LFS, guessed?): the Hub's file list at the commit, else the Hub's rules."""
    if not runtime.offline:
        from video_censor_personal.huggingface_registry import HubRegistry

        with contextlib.suppress(VideoCensorError):  # unreachable, gone, gated: the rules still hold
            snapshot = HubRegistry(runtime).snapshot(model.repo, model.commit)
            return {f.path for f in snapshot.files if f.sha256}, False
    return {f.path for f in model.files if looks_like_lfs(f)}, True


def looks_like_lfs(locked: LockedFile) -> bool:
    """The Hub's own rules: its default .gitattributes patterns, and no plain file above 10 MiB."""
    name = locked.path.rsplit("/", 1)[-1]
    return locked.size > HUB_PLAIN_MAX or any(fnmatch(name, p) or fnmatch(locked.path, p) for p in HUB_LFS_PATTERNS)


# ---------------------------------------------------------------- one file


def _export_file(directory: Path, model: LockedModel, locked: LockedFile, source: Path, lfs: bool) -> str:
    """blobs/<etag> from the verified file, then snapshots/<commit>/<path> pointing at it."""
    repo_dir = directory / repo_folder(model.repo)
    etag = locked.sha256 if lfs else git_blob_sha1(source, locked)
    blob = repo_dir / "blobs" / etag
    from filelock import FileLock  # only when something is written

    lock_path = directory / ".locks" / repo_folder(model.repo) / f"{etag}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path), mode=0o664):  # huggingface_hub's own lock, as its downloads take it
        how = _place_blob(source, blob, locked)
    _point(repo_dir / "snapshots" / model.commit / locked.path, blob, locked)
    return how


def git_blob_sha1(path: Path, locked: LockedFile) -> str:
    """The git blob id of a plain file (what the Hub gives as its etag), checked against the lock's sha256."""
    sha1, sha256 = hashlib.sha1(f"blob {locked.size}\0".encode()), hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha1.update(chunk)
            sha256.update(chunk)
    if sha256.hexdigest() != locked.sha256:
        raise IntegrityError(
            f"{path}: sha256 mismatch while exporting",
            details=[f"expected sha256 {locked.sha256}", f"actual sha256   {sha256.hexdigest()}"],
            hint="run `video-censor models verify` and then `video-censor models download`",
        )
    return sha1.hexdigest()


def _place_blob(source: Path, blob: Path, locked: LockedFile) -> str:
    """The blob as it should be: kept when it already holds the locked bytes, else made anew."""
    if _same_file(source, blob) or _holds(blob, locked):
        return IN_PLACE
    blob.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(blob)
    how = _fill(source, tmp, locked)
    os.replace(tmp, blob)
    return how


def _holds(path: Path, locked: LockedFile) -> bool:
    """A blob huggingface_hub (or an earlier export) wrote: kept only once its bytes are hashed."""
    from video_censor_personal.cache import sha256_file

    return path.is_file() and path.stat().st_size == locked.size and sha256_file(path) == locked.sha256


def _fill(source: Path, target: Path, locked: LockedFile) -> str:
    """`target` made from the verified `source`: hardlink, else reflink, else a hashed copy."""
    if _try(os.link, source, target) or _reflink(source, target):
        return LINKED
    copy_verified(source, target, locked.sha256)
    return COPIED


def _point(pointer: Path, blob: Path, locked: LockedFile) -> None:
    """snapshots/<commit>/<path> -> the blob, by a relative symlink as huggingface_hub makes it.

    Where symlinks are refused (Windows without developer mode), the file itself goes there,
    which is what huggingface_hub does on such systems too. Built beside, then renamed over.
    """
    target = os.path.relpath(blob, pointer.parent)
    with contextlib.suppress(OSError):
        if os.readlink(pointer) == target:
            return
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(pointer)
    if not _try(os.symlink, target, tmp):
        _fill(blob, tmp, locked)
    os.replace(tmp, pointer)


def _ref_path(repo_dir: Path, model: LockedModel) -> Path | None:
    """refs/<revision>, where loading by the revision's name looks; None for a commit (no ref)."""
    if model.revision == model.commit:
        return None
    if not is_safe_relative_path(model.revision):
        raise LockfileError(f"model '{model.name}': revision {model.revision!r} cannot name a file in refs/",
                            hint="run `video-censor models lock` to regenerate the lock")
    return repo_dir / "refs" / model.revision


def _write_ref(ref: Path | None, commit: str) -> None:
    """The ref holds the locked commit (even where it held a newer one), written whole."""
    if ref is None:
        return
    with contextlib.suppress(OSError):
        if ref.read_text(encoding="utf-8") == commit:
            return
    atomic_write_bytes(ref, commit.encode())


# ---------------------------------------------------------------- filesystem calls


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _try(call, source, target) -> bool:
    """A link of either kind, or False where the filesystem refuses it (other device, no support)."""
    try:
        call(source, target)
        return True
    except OSError:
        return False


def _reflink(source: Path, target: Path) -> bool:
    """A copy-on-write clone (FICLONE ioctl) where the filesystem has them; False elsewhere."""
    try:
        import fcntl
    except ImportError:  # Windows
        return False
    try:
        with open(source, "rb") as src, open(target, "wb") as dst:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        return True
    except OSError:
        target.unlink(missing_ok=True)
        return False
