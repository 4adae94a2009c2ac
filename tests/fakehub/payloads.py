"""JSON bodies of the Hub API, built from the model (shapes copied from the real Hub).

Kept apart from routing so that the shapes can be read (and compared with the real Hub's
answers) in one place.
"""

from __future__ import annotations

import hashlib

from .model import Commit, FileEntry, Repo, format_date


def tree_item(commit: Commit, path: str, repo: Repo | None = None) -> dict:
    """A tree/paths-info item: file (with `lfs` when stored in LFS) or directory."""
    entry = commit.files.get(path)
    if entry is None:
        item = {"type": "directory", "oid": commit.dir_oid(path), "size": 0, "path": path}
    else:
        item = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
        if entry.lfs:
            item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    if repo is not None:  # expand=true
        last = repo.last_commit_for(commit, path) if entry else commit
        item["lastCommit"] = {"id": last.sha, "title": last.message, "date": format_date(last.date)}
    return item


def tree_paths(commit: Commit, base: str, recursive: bool) -> list[str] | None:
    """Paths listed under directory `base` ("" = root), directories included; None if no such dir."""
    if base and not commit.is_dir(base):
        return None
    prefix = base + "/" if base else ""
    everything = [p for p in [*commit.directories(), *commit.files] if p.startswith(prefix)]
    if recursive:
        return sorted(everything)
    children = [p for p in everything if "/" not in p[len(prefix) :]]
    dirs = sorted(p for p in children if p not in commit.files)
    return dirs + sorted(p for p in children if p in commit.files)  # the Hub lists folders first


def sibling(entry: FileEntry, blobs: bool) -> dict:
    """A `siblings` item of model_info; `?blobs=true` adds size, blobId and lfs (key `sha256` here)."""
    out: dict = {"rfilename": entry.path}
    if blobs:
        out["size"] = entry.size
        out["blobId"] = entry.oid
        if entry.lfs:
            out["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    return out


def _object_id(repo_id: str) -> str:
    return hashlib.sha1(repo_id.encode()).hexdigest()[:24]


def summary(repo: Repo) -> dict:
    """The fields of a model in /api/models listings."""
    out = {
        "_id": _object_id(repo.id),
        "id": repo.id,
        "modelId": repo.id,
        "author": repo.id.split("/")[0],
        "likes": repo.likes,
        "trendingScore": 0,
        "private": repo.private,
        "downloads": repo.downloads,
        "tags": list(repo.tags),
        "pipeline_tag": repo.pipeline_tag,
        "library_name": repo.library_name,
        "createdAt": format_date(repo.created_at),
        "lastModified": format_date(repo.last_modified),
    }
    return {k: v for k, v in out.items() if v is not None}


def model_info(repo: Repo, commit: Commit | None, blobs: bool) -> dict:
    """GET /api/models/{repo}[/revision/{rev}]: summary plus sha, siblings, gating and card."""
    out = summary(repo)
    out.update(
        {
            "sha": commit.sha if commit else None,
            "lastModified": format_date(commit.date if commit else repo.created_at),
            "gated": repo.gated,
            "disabled": repo.disabled,
            "siblings": [sibling(commit.files[p], blobs) for p in sorted(commit.files)] if commit else [],
            "spaces": [],
            "usedStorage": sum(e.size for e in commit.files.values()) if commit else 0,
        }
    )
    if repo.card:
        out["cardData"] = dict(repo.card)
    return out


def only_expanded(info: dict, expand: list[str]) -> dict:
    """With `expand=...` the Hub answers only the requested properties (plus ids)."""
    keep = {"_id", "id", *expand}
    return {k: v for k, v in info.items() if k in keep}


def commit_item(commit: Commit) -> dict:
    """An item of /api/models/{repo}/commits/{rev}."""
    title, _, body = commit.message.partition("\n")
    return {
        "id": commit.sha,
        "title": title,
        "message": body.strip(),
        "authors": [{"user": "fakehub"}],
        "date": format_date(commit.date),
    }


def refs(repo: Repo, include_prs: bool) -> dict:
    """GET /api/models/{repo}/refs."""

    def ref(kind: str, name: str, sha: str) -> dict:
        return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": sha}

    out = {
        "branches": [ref("heads", n, s) for n, s in sorted(repo.branches.items())],
        "converts": [],
        "tags": [ref("tags", n, s) for n, s in sorted(repo.git_tags.items())],
    }
    if include_prs:
        out["pullRequests"] = []
    return out
