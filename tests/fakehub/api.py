"""The hub origin: the JSON API under /api/models and file resolution under /{repo}/resolve.

Access rules follow the real Hub: a missing or private repo is RepoNotFound (401 without a
valid token, 404 with one), a gated repo's metadata is public but its files need an accepted
token (401 without a token, 403 with another one), a disabled repo answers 403 "Access to this
resource is disabled.", and a renamed repo answers 307 to the same URL under its new id.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, quote, unquote

from . import payloads
from .base import BaseHandler
from .model import Commit, Repo

DISABLED_MESSAGE = "Access to this resource is disabled."  # huggingface_hub matches this exact text
_LIST_SORTS = {"downloads", "likes", "lastModified", "createdAt", "trendingScore", "id"}


class HubHandler(BaseHandler):
    origin = "hub"

    def route(self) -> None:
        segs = self.raw_path.split("/")[1:]
        if segs[:2] == ["api", "models"]:
            self._api(segs[2:])
        elif segs == ["api", "agent-harnesses"]:  # huggingface_hub's user-agent probe
            self.send_json({"standardEnvVars": [], "harnesses": {}})
        elif len(segs) >= 5 and segs[2] == "resolve" and self.command in ("GET", "HEAD"):
            self._resolve(segs)
        else:
            self.send_error_json(404, "Sorry, we can't find the page you are looking for.")

    # -- /api/models ---------------------------------------------------------------------------
    def _api(self, rest: list[str]) -> None:
        if rest in ([], [""]) and self.command in ("GET", "HEAD"):
            self._list_models()
            return
        if len(rest) < 2:
            self.send_error_json(404, "Not Found")
            return
        action, args = (rest[2], rest[3:]) if len(rest) > 2 else ("info", [])
        handlers = {
            ("info", 0): self._model_info,
            ("refs", 0): self._refs,
            ("commits", 1): self._commits,
            ("paths-info", 1): self._paths_info,
        }
        relocate = _relocator("/api/models/", rest[2:])
        repo = self._access(unquote(rest[0]) + "/" + unquote(rest[1]), relocate, files=False)
        if repo is None:
            return
        if action == "tree" and args:
            self._tree(repo, unquote(args[0]), unquote("/".join(args[1:])))
        elif action == "revision" and args:  # the client encodes "/" in revisions, but accept it raw too
            self._model_info(repo, unquote("/".join(args)))
        elif (action, len(args)) in handlers:
            handlers[(action, len(args))](repo, *[unquote(a) for a in args])
        else:
            self.send_error_json(404, "Not Found")

    def _model_info(self, repo: Repo, rev: str | None = None) -> None:
        commit = self._commit(repo, rev) if rev is not None else repo.resolve("main")
        if rev is not None and commit is None:
            return
        info = payloads.model_info(repo, commit, blobs=self.param("blobs") in ("true", "True", "1"))
        expand = self.params("expand")
        self.send_json(payloads.only_expanded(info, expand) if expand else info)

    def _refs(self, repo: Repo) -> None:
        self.send_json(payloads.refs(repo, include_prs=self.param("include_prs") in ("1", "true", "True")))

    def _commits(self, repo: Repo, rev: str) -> None:
        commit = self._commit(repo, rev)
        if commit is not None:
            self._send_page([payloads.commit_item(c) for c in repo.history(commit)], self.hub.page_size)

    def _tree(self, repo: Repo, rev: str, path: str) -> None:
        commit = self._commit(repo, rev)
        if commit is None:
            return
        recursive = self.param("recursive") in ("true", "True", "1")
        expand = self.param("expand") in ("true", "True", "1")
        paths = payloads.tree_paths(commit, path.strip("/"), recursive)
        if paths is None:
            self.send_error_json(404, f"Entry not found: {path}", "EntryNotFound", self._commit_header(commit))
            return
        items = [payloads.tree_item(commit, p, repo if expand else None) for p in paths]
        self._send_page(items, self.hub.page_size)

    def _paths_info(self, repo: Repo, rev: str) -> None:
        commit = self._commit(repo, rev)
        if commit is None:
            return
        form = self._form()
        expand = (form.get("expand") or ["false"])[0].lower() in ("true", "1")
        found = [p.strip("/") for p in form.get("paths", []) if p.strip("/") in commit.files or commit.is_dir(p)]
        self.send_json([payloads.tree_item(commit, p, repo if expand else None) for p in found])

    def _list_models(self) -> None:
        valid = self.hub._token_valid(self.bearer_token())
        with self.hub._lock:
            repos = [r for r in self.hub.repos.values() if not r.private or valid]
        repos = [r for r in repos if self._listed(r)]
        repos.sort(key=lambda r: r.id)
        sort = self.param("sort")
        if sort in _LIST_SORTS:
            summaries = {r.id: payloads.summary(r) for r in repos}
            descending = self.param("direction", "-1") != "1"
            repos.sort(key=lambda r: summaries[r.id].get(sort) or 0, reverse=descending)
        limit = self.param("limit")
        page_size = int(limit) if limit and limit.isdigit() and int(limit) > 0 else self.hub.page_size
        self._send_page([self._list_item(r) for r in repos], page_size)

    def _listed(self, repo: Repo) -> bool:
        """The filters of GET /api/models that huggingface_hub (and older clients) send."""
        terms = {*repo.tags, repo.library_name, repo.pipeline_tag}
        if repo.card.get("license"):
            terms.add(f"license:{repo.card['license']}")
        search = (self.param("search") or "").lower()
        checks = [
            search in repo.id.lower(),
            all(f in terms for f in self.params("filter")),
            all(repo.pipeline_tag == t for t in self.params("pipeline_tag")),
            all(lib in (repo.library_name, *repo.tags) for lib in self.params("library")),
            all(repo.id.startswith(a + "/") for a in self.params("author")),
        ]
        gated = self.param("gated")
        if gated is not None:
            checks.append(bool(repo.gated) == (gated.lower() in ("true", "1")))
        return all(checks)

    def _list_item(self, repo: Repo) -> dict:
        commit = repo.resolve("main")
        if self.param("full") in ("true", "True", "1") or self.params("expand"):
            item = payloads.model_info(repo, commit, blobs=False)
            expand = self.params("expand")
            return payloads.only_expanded(item, expand) if expand else item
        item = payloads.summary(repo)
        if self.param("cardData") in ("true", "True", "1") and repo.card:
            item["cardData"] = dict(repo.card)
        return item

    # -- /{repo}/resolve/{rev}/{path} ----------------------------------------------------------
    def _resolve(self, segs: list[str]) -> None:
        relocate = _relocator("/", segs[2:])
        repo = self._access(unquote(segs[0]) + "/" + unquote(segs[1]), relocate, files=True)
        if repo is None:
            return
        commit = self._commit(repo, unquote(segs[3]))
        if commit is None:
            return
        path = unquote("/".join(segs[4:]))
        entry = commit.files.get(path)
        headers = self._commit_header(commit)
        if entry is None:
            self.send_error_json(404, "Entry not found", "EntryNotFound", headers)
        elif entry.lfs:
            headers.update(
                {"ETag": f'"{entry.sha256}"', "X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)}
            )
            self.send_redirect(302, self.hub._cdn_location(entry), headers)
        else:
            headers.update({"ETag": f'"{entry.oid}"', "Content-Type": _content_type(path)})
            self.send_content(entry.data or b"", headers)

    # -- shared checks -------------------------------------------------------------------------
    def _access(self, repo_id: str, relocate, files: bool) -> Repo | None:
        """The repo if this request may see it; otherwise the answer (307/401/403/404) is sent."""
        token = self.bearer_token()
        valid = self.hub._token_valid(token)
        repo, moved_to = self.hub._lookup(repo_id)
        if repo is None and moved_to is not None:
            location = relocate(moved_to) + (f"?{self.query_string}" if self.query_string else "")
            self.send_redirect(307, location)
            return None
        if repo is None or (repo.private and not valid):
            status = 404 if valid else 401
            message = "Repository not found" if valid else "Invalid username or password."
            self.send_error_json(status, message, "RepoNotFound")
            return None
        if repo.disabled and (files or not self.hub.disabled_info):
            self.send_error_json(403, DISABLED_MESSAGE)
            return None
        if files and repo.gated and not valid:
            self._gated(repo, token)
            return None
        return repo

    def _gated(self, repo: Repo, token: str | None) -> None:
        if token is None:
            message = (
                f"Access to model {repo.id} is restricted. You must have access to it and be authenticated "
                "to access it. Please log in."
            )
            self.send_error_json(401, message, "GatedRepo")
        else:
            message = (
                f"Access to model {repo.id} is restricted and you are not in the authorized list. "
                f"Visit {self.hub.url}/{repo.id} to ask for access."
            )
            self.send_error_json(403, message, "GatedRepo")

    def _commit(self, repo: Repo, rev: str) -> Commit | None:
        """The commit of `rev`, or None after answering RevisionNotFound."""
        commit = repo.resolve(rev)
        if commit is None:
            self.send_error_json(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    @staticmethod
    def _commit_header(commit: Commit) -> dict[str, str]:
        return {"X-Repo-Commit": commit.sha}

    def _send_page(self, items: list, page_size: int) -> None:
        """One page of a cursor-paginated list; `Link: <next>; rel="next"` when more remain."""
        cursor = self.param("cursor")
        start = _decode_cursor(cursor) if cursor else 0
        page_size = max(1, int(page_size))
        headers = {}
        if start + page_size < len(items):
            query = [(k, v) for k, vs in self.query.items() if k != "cursor" for v in vs]
            query.append(("cursor", _encode_cursor(start + page_size)))
            qs = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query)
            headers["Link"] = f'<{self.hub.url}{self.raw_path}?{qs}>; rel="next"'
        self.send_json(items[start : start + page_size], headers=headers)

    def _form(self) -> dict[str, list[str]]:
        """POST body as a form (what huggingface_hub sends) or JSON."""
        text = self.body.decode("utf-8", "replace")
        if "json" in (self.headers.get("Content-Type") or ""):
            data = json.loads(text or "{}")
            return {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in data.items()}
        return parse_qs(text, keep_blank_values=True)


def _relocator(prefix: str, tail: list[str]):
    """Build this request's path under another repo id (the 307 after a rename keeps the rest)."""
    rest = "".join("/" + s for s in tail)
    return lambda new_id: prefix + quote(new_id, safe="/") + rest


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(json.loads(base64.urlsafe_b64decode(padded))["offset"])
    except (ValueError, KeyError, TypeError):
        return 0


def _content_type(path: str) -> str:
    if path.endswith(".json"):
        return "application/json; charset=utf-8"
    if path.endswith((".md", ".txt", ".yaml", ".yml", ".toml")):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"
