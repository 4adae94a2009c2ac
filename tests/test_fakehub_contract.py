"""Contract test of the fake Hub: the official huggingface_hub client must work against it.

If huggingface_hub changes what it sends or expects, these tests say so before the product
tests start failing for obscure reasons. The second half checks the fake's own test features
(Range, faults, pagination, renames, token records) with plain `requests`.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.fakehub import LFS, Fault, git_blob_sha1

CONFIG = json.dumps({"id2label": {"0": "normal", "1": "nsfw"}}).encode()
WEIGHTS = bytes(range(256)) * 200  # 51200 bytes
TOKEN = "hf_validtoken"
NSFW_COMMIT = "1ceb3c7fe1e9f3f2507e6df577437f23a9149fd5"
NSFW_SHA256 = "a4316a4fb750169ac4fcabaabee1fcbd982b0ee8c0cc63fe3e944954bb9a7d9c"


@pytest.fixture
def hub(fake_hub):
    """The fake with org/model: two commits on main, a tag, a branch with a slash."""
    repo = fake_hub.create_repo(
        "org/model",
        card={"new_version": "org/model-v2", "license": "mit"},
        pipeline_tag="image-classification",
        library_name="onnx",
        downloads=500,
        likes=5,
        tags=["onnx", "vision"],
    )
    first = repo.commit({"config.json": CONFIG, "onnx/model.onnx": LFS(WEIGHTS)}, message="init")
    second = repo.commit_update({"README.md": b"# model\n"}, message="card")
    repo.tag("v1.0", first)
    repo.branch("feature/x", first)
    fake_hub.first, fake_hub.second = first, second
    fake_hub.tokens = {TOKEN}
    return fake_hub


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.url, token=False)


def download(hub, tmp_path, repo_id, filename, **kwargs):
    kwargs.setdefault("token", False)
    return hf_hub_download(repo_id, filename, endpoint=hub.url, cache_dir=tmp_path / "cache", **kwargs)


# -- huggingface_hub against the fake ------------------------------------------------------------
def test_model_info_at_head_and_at_revisions(hub, api):
    info = api.model_info("org/model")
    assert (info.id, info.sha, info.author) == ("org/model", hub.second, "org")
    assert sorted(s.rfilename for s in info.siblings) == ["README.md", "config.json", "onnx/model.onnx"]
    assert (info.gated, info.disabled, info.private) == (False, False, False)
    assert (info.pipeline_tag, info.library_name, info.downloads, info.likes) == (
        "image-classification", "onnx", 500, 5,
    )  # fmt: skip
    assert info.card_data.get("new_version") == "org/model-v2"
    assert info.last_modified.year == 2026 and info.created_at <= info.last_modified
    for rev in (hub.first, "v1.0", "feature/x"):
        old = api.model_info("org/model", revision=rev)
        assert old.sha == hub.first
        assert "README.md" not in {s.rfilename for s in old.siblings}
    assert hub.count(path_contains="/revision/feature/x") == 1  # sent as feature%2Fx
    expanded = api.model_info("org/model", expand=["cardData", "sha"])
    assert expanded.sha == hub.second and expanded.siblings is None
    assert expanded.card_data.get("license") == "mit"


def test_model_info_files_metadata_has_lfs_sha256_and_size(hub, api):
    siblings = {s.rfilename: s for s in api.model_info("org/model", files_metadata=True).siblings}
    lfs = siblings["onnx/model.onnx"]
    assert lfs.lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert lfs.lfs.size == lfs.size == len(WEIGHTS)
    assert 120 < lfs.lfs.pointer_size < 140
    plain = siblings["config.json"]
    assert plain.lfs is None and plain.size == len(CONFIG) and plain.blob_id == git_blob_sha1(CONFIG)


def test_list_repo_tree_recursive_follows_every_page(hub, api):
    files = {f"d{i % 3}/sub/f{i}.json": b"%d" % i for i in range(7)}
    hub.repo("org/model").commit_update(files, message="many")
    hub.page_size = 2
    hub.clear_requests()
    items = list(api.list_repo_tree("org/model", recursive=True))
    paths = [i.path for i in items]
    expected_dirs = {"onnx", "d0", "d1", "d2", "d0/sub", "d1/sub", "d2/sub"}
    assert set(paths) == {"README.md", "config.json", "onnx/model.onnx", *files, *expected_dirs}
    assert len(paths) == len(set(paths))
    assert hub.count(path_contains="/tree/main") == -(-len(paths) // 2)
    lfs = next(i for i in items if i.path == "onnx/model.onnx")
    assert lfs.lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest() and lfs.size == len(WEIGHTS)
    assert {type(i).__name__ for i in items if i.path in expected_dirs} == {"RepoFolder"}
    top = [i.path for i in api.list_repo_tree("org/model")]
    assert top[:4] == ["d0", "d1", "d2", "onnx"] and "d0/sub" not in top
    assert [i.path for i in api.list_repo_tree("org/model", "d1/sub")] == ["d1/sub/f1.json", "d1/sub/f4.json"]


def test_list_repo_tree_expand_and_paths_info_and_commits(hub, api):
    items = {i.path: i for i in api.list_repo_tree("org/model", recursive=True, expand=True)}
    assert items["README.md"].last_commit.oid == hub.second
    assert items["config.json"].last_commit.oid == hub.first
    infos = api.get_paths_info("org/model", ["config.json", "onnx", "missing.txt"], revision=hub.first)
    assert [(type(i).__name__, i.path) for i in infos] == [("RepoFile", "config.json"), ("RepoFolder", "onnx")]
    commits = api.list_repo_commits("org/model")
    assert [c.commit_id for c in commits] == [hub.second, hub.first]
    assert commits[0].title == "card"


def test_list_repo_refs(hub, api):
    refs = api.list_repo_refs("org/model")
    assert {(b.name, b.ref, b.target_commit) for b in refs.branches} == {
        ("main", "refs/heads/main", hub.second),
        ("feature/x", "refs/heads/feature/x", hub.first),
    }
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [("v1.0", "refs/tags/v1.0", hub.first)]
    assert refs.converts == []


def test_list_models_search_filter_sort_limit(hub, api):
    hub.create_repo("org/model-v2", library_name="onnx", pipeline_tag="image-classification", downloads=900)
    hub.create_repo("other/model-small", library_name="transformers", downloads=50, likes=99)
    hub.create_repo("other/unrelated", downloads=10_000)
    hub.create_repo("org/secret-model", private=True, downloads=1_000_000)
    found = list(api.list_models(search="model", sort="downloads"))
    assert [m.id for m in found] == ["org/model-v2", "org/model", "other/model-small"]
    assert found[1].pipeline_tag == "image-classification" and found[1].created_at is not None
    assert [m.id for m in api.list_models(search="model", sort="likes", limit=1)] == ["other/model-small"]
    assert [m.id for m in api.list_models(filter="onnx", pipeline_tag="image-classification")] == [
        "org/model", "org/model-v2",
    ]  # fmt: skip
    assert [m.id for m in api.list_models(author="other", sort="downloads")] == ["other/unrelated", "other/model-small"]
    with_card = next(iter(api.list_models(search="org/model", cardData=True, limit=1)))
    assert with_card.card_data.get("new_version") == "org/model-v2"
    sent = [r.query for r in hub.requests if r.path == "/api/models"]
    assert sent[0] == {"search": ["model"], "sort": ["downloads"]}
    assert sent[1] == {"search": ["model"], "sort": ["likes"], "limit": ["1"]}
    assert sent[2] == {"filter": ["onnx"], "pipeline_tag": ["image-classification"]}
    authed = HfApi(endpoint=hub.url, token=TOKEN)
    assert "org/secret-model" in {m.id for m in authed.list_models(search="secret")}


def test_hf_hub_download_plain_file(hub, tmp_path):
    path = download(hub, tmp_path, "org/model", "config.json")
    assert Path(path).read_bytes() == CONFIG
    assert hub.count(origin="cdn") == 0


def test_hf_hub_download_lfs_file_through_cdn_without_token_leak(hub, tmp_path):
    path = download(hub, tmp_path, "org/model", "onnx/model.onnx", revision=hub.first, token=TOKEN)
    assert Path(path).read_bytes() == WEIGHTS
    head = [r for r in hub.requests if r.origin == "hub" and "resolve" in r.path]
    assert [(r.method, r.status, r.token) for r in head] == [("HEAD", 302, TOKEN)]
    cdn = [r for r in hub.requests if r.origin == "cdn"]
    assert [(r.method, r.status, r.token) for r in cdn] == [("GET", 200, None)]
    assert "authorization" not in cdn[0].headers
    assert hub.cdn_bytes_sent == len(WEIGHTS)


def test_errors_map_to_huggingface_hub_exceptions(hub, api, tmp_path):
    with pytest.raises(RepositoryNotFoundError) as missing:
        api.model_info("org/nope")
    assert missing.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError) as missing_authed:
        HfApi(endpoint=hub.url, token=TOKEN).model_info("org/nope")
    assert missing_authed.value.response.status_code == 404
    with pytest.raises(RepositoryNotFoundError):
        download(hub, tmp_path, "org/nope", "config.json")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/model", revision="nope")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_tree("org/model", revision="0" * 40).__next__()
    with pytest.raises(RevisionNotFoundError):
        download(hub, tmp_path, "org/model", "config.json", revision="nope")
    with pytest.raises(EntryNotFoundError):
        download(hub, tmp_path, "org/model", "nope.json")


def test_private_repo_needs_a_valid_token(hub, tmp_path):
    hub.create_repo("org/private", private=True).commit({"a.txt": b"a"})
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token="hf_wrong").model_info("org/private")
    assert HfApi(endpoint=hub.url, token=TOKEN).model_info("org/private").private is True
    assert Path(download(hub, tmp_path, "org/private", "a.txt", token=TOKEN)).read_bytes() == b"a"


def test_gated_repo_metadata_is_public_but_files_need_an_accepted_token(hub, api, tmp_path):
    hub.create_repo("org/gated", gated="manual").commit({"w.bin": LFS(b"w" * 1000), "c.json": b"{}"})
    assert api.model_info("org/gated").gated == "manual"
    assert [i.path for i in api.list_repo_tree("org/gated")] == ["c.json", "w.bin"]
    with pytest.raises(GatedRepoError) as anonymous:
        download(hub, tmp_path, "org/gated", "c.json")
    assert anonymous.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as refused:
        download(hub, tmp_path, "org/gated", "w.bin", token="hf_not_accepted")
    assert refused.value.response.status_code == 403
    assert Path(download(hub, tmp_path, "org/gated", "w.bin", token=TOKEN)).read_bytes() == b"w" * 1000


def test_disabled_repo(hub, api, tmp_path):
    hub.create_repo("org/disabled", disabled=True).commit({"a.txt": b"a"})
    with pytest.raises(DisabledRepoError):
        api.model_info("org/disabled")
    with pytest.raises(LocalEntryNotFoundError) as download_error:  # hf_hub_download hides it as a "cache miss"
        download(hub, tmp_path, "org/disabled", "a.txt")
    assert isinstance(download_error.value.__cause__, DisabledRepoError)
    hub.disabled_info = True
    assert api.model_info("org/disabled").disabled is True


def test_renamed_repo_is_followed_by_the_client(hub, api, tmp_path):
    hub.rename("org/model", "neworg/model")
    info = api.model_info("org/model", files_metadata=True)
    assert info.id == "neworg/model" and info.sha == hub.second
    assert [r.status for r in hub.requests if r.origin == "hub"] == [307, 200]
    assert len(list(api.list_repo_tree("org/model", recursive=True))) == 4
    assert Path(download(hub, tmp_path, "org/model", "config.json")).read_bytes() == CONFIG


def test_recorded_commit_reports_metadata_but_has_no_bytes(hub, api):
    repo = hub.create_repo("onnx-community/nsfw_image_detection-ONNX", library_name="onnx")
    config = b'{"model_type": "vit"}'
    repo.record(NSFW_COMMIT, {"onnx/model.onnx": LFS.recorded(343401688, NSFW_SHA256), "config.json": config})
    info = api.model_info(repo.id, revision="main", files_metadata=True)
    assert info.sha == NSFW_COMMIT
    onnx = next(s for s in info.siblings if s.rfilename == "onnx/model.onnx")
    assert (onnx.lfs.sha256, onnx.lfs.size, onnx.lfs.pointer_size) == (NSFW_SHA256, 343401688, 134)
    url = f"{hub.url}/{repo.id}/resolve/{NSFW_COMMIT}/onnx/model.onnx"
    head = requests.head(url, timeout=5)
    assert head.status_code == 302 and head.headers["X-Linked-Size"] == "343401688"
    assert head.headers["X-Linked-Etag"] == f'"{NSFW_SHA256}"' and head.headers["X-Repo-Commit"] == NSFW_COMMIT
    assert requests.get(url, timeout=5).status_code == 404  # followed to the CDN, which has no bytes
    assert requests.get(f"{hub.url}/{repo.id}/resolve/main/config.json", timeout=5).content == config


def test_fixture_points_huggingface_hub_at_the_fake(fake_hub):
    import huggingface_hub
    from huggingface_hub import constants

    assert HfApi().endpoint == fake_hub.url == constants.ENDPOINT
    assert huggingface_hub.get_token() is None
    assert constants.HF_HUB_DISABLE_XET and constants.HF_HUB_DISABLE_TELEMETRY
    with pytest.raises(RepositoryNotFoundError):
        huggingface_hub.model_info("org/none")
    assert fake_hub.requests[0].token is None


def test_demo_of_the_command_line_entry_point(tmp_path):
    from tests.fakehub import FakeHub
    from tests.fakehub.__main__ import _demo
    from tests.tiny_models import tiny_classifier

    with FakeHub() as hub:
        sha = _demo(hub)["commit"]
        path = download(hub, tmp_path, "demo-org/tiny-model", "onnx/model.onnx", revision="v1.0")
        assert Path(path).read_bytes() == tiny_classifier(32) and hub.repo("demo-org/tiny-model").head() == sha


# -- the fake's own features, with plain requests ----------------------------------------------
def resolve_url(hub, path, rev="main", repo="org/model"):
    return f"{hub.url}/{repo}/resolve/{rev}/{path}"


def cdn_url(hub, path="onnx/model.onnx"):
    return requests.head(resolve_url(hub, path), timeout=5).headers["Location"]


def test_plain_resolve_headers_and_ranges(hub):
    url = resolve_url(hub, "config.json")
    head = requests.head(url, timeout=5)
    assert head.status_code == 200 and head.headers["ETag"] == f'"{git_blob_sha1(CONFIG)}"'
    assert head.headers["X-Repo-Commit"] == hub.second and head.headers["Content-Length"] == str(len(CONFIG))
    assert head.headers["Accept-Ranges"] == "bytes" and "X-Xet-Hash" not in head.headers
    part = requests.get(url, headers={"Range": "bytes=2-5"}, timeout=5)
    assert part.status_code == 206 and part.content == CONFIG[2:6]
    assert part.headers["Content-Range"] == f"bytes 2-5/{len(CONFIG)}"
    assert requests.get(url, headers={"Range": "bytes=-3"}, timeout=5).content == CONFIG[-3:]
    bad = requests.get(url, headers={"Range": f"bytes={len(CONFIG)}-"}, timeout=5)
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(CONFIG)}"


def test_cdn_serves_ranges_and_expires(hub):
    location = cdn_url(hub)
    assert location.startswith(hub.cdn_url + "/repos/") and "xet" not in location
    assert requests.head(location, timeout=5).headers["Content-Length"] == str(len(WEIGHTS))
    rest = requests.get(location, headers={"Range": "bytes=50000-"}, timeout=5)
    assert rest.status_code == 206 and rest.content == WEIGHTS[50000:]
    assert rest.headers["Content-Range"] == f"bytes 50000-{len(WEIGHTS) - 1}/{len(WEIGHTS)}"
    assert requests.get(location, headers={"Range": "bytes=60000-"}, timeout=5).status_code == 416
    assert hub.cdn_bytes_sent == len(WEIGHTS) - 50000
    hub.url_ttl = -1
    assert requests.get(cdn_url(hub), timeout=5).status_code == 403


def test_mirror_serves_bytes_by_commit_and_by_sha256(hub):
    base = f"{hub.mirror_url}/org/model/resolve"
    got = requests.get(f"{base}/{hub.first}/onnx/model.onnx", allow_redirects=False, timeout=5)
    assert got.status_code == 200 and got.content == WEIGHTS
    assert requests.get(f"{base}/main/config.json", timeout=5).status_code == 404  # commits only
    assert requests.get(f"{base}/{hub.first}/README.md", timeout=5).status_code == 404
    sha = hashlib.sha256(CONFIG).hexdigest()
    assert requests.get(f"{hub.mirror_url}/blobs/{sha}", timeout=5).content == CONFIG
    part = requests.get(f"{base}/{hub.first}/config.json", headers={"Range": "bytes=1-"}, timeout=5)
    assert part.status_code == 206 and part.content == CONFIG[1:]


def test_fault_status_with_retry_after_then_recovers(hub):
    fault = hub.add_fault(Fault("status", origin="cdn", status=429, retry_after=7))
    location = cdn_url(hub)
    assert requests.get(resolve_url(hub, "config.json"), timeout=5).status_code == 200  # other origin
    first = requests.get(location, timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7" and "error" in first.json()
    assert requests.get(location, timeout=5).content == WEIGHTS and fault.hits == 1


def test_fault_forever_and_filters(hub):
    hub.add_fault(Fault("status", origin="hub", path="config.json", method="GET", times=None, status=500))
    url = resolve_url(hub, "config.json")
    assert [requests.get(url, timeout=5).status_code for _ in range(3)] == [500, 500, 500]
    assert requests.head(url, timeout=5).status_code == 200
    assert requests.get(resolve_url(hub, "README.md"), timeout=5).status_code == 200
    hub.clear_faults()
    assert requests.get(url, timeout=5).status_code == 200


def test_fault_delay_and_slow(hub):
    hub.add_fault(Fault("delay", path="config.json", seconds=0.1))
    start = time.monotonic()
    assert requests.get(resolve_url(hub, "config.json"), timeout=5).content == CONFIG
    assert time.monotonic() - start >= 0.1
    hub.add_fault(Fault("slow", origin="cdn", rate=200_000))
    start = time.monotonic()
    assert requests.get(cdn_url(hub), timeout=5).content == WEIGHTS
    assert time.monotonic() - start >= 0.2


def test_fault_drop_and_short_cut_the_body(hub):
    for kind in ("drop", "short"):
        hub.clear_requests()
        hub.add_fault(Fault(kind, origin="any", path="onnx/model.onnx", after=1000))
        received = bytearray()
        url = resolve_url(hub, "onnx/model.onnx")
        with (
            pytest.raises(requests.exceptions.RequestException),
            requests.get(url, stream=True, timeout=5) as response,
        ):
            assert response.headers["Content-Length"] == str(len(WEIGHTS))
            for chunk in response.iter_content(200):  # 1000 = 5 whole chunks
                received += chunk
        assert bytes(received) == WEIGHTS[: len(received)] and len(received) <= 1000
        if kind == "short":
            assert len(received) == 1000
        record = [r for r in hub.requests if r.origin == "cdn"][-1]
        assert (record.fault, record.bytes_sent, record.status) == (kind, 1000, 200)
        assert hub.cdn_bytes_sent == 1000
    resumed = requests.get(cdn_url(hub), headers={"Range": "bytes=1000-"}, timeout=5)
    assert resumed.status_code == 206 and resumed.content == WEIGHTS[1000:]


def test_fault_corrupt_and_hangup(hub):
    hub.add_fault(Fault("corrupt", origin="cdn", offset=10))
    body = requests.get(cdn_url(hub), timeout=5).content
    assert len(body) == len(WEIGHTS) and [i for i in range(len(body)) if body[i] != WEIGHTS[i]] == [10]
    hub.add_fault(Fault("hangup", origin="mirror"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{hub.mirror_url}/blobs/{'0' * 64}", timeout=5)
    assert requests.get(f"{hub.mirror_url}/blobs/{'0' * 64}", timeout=5).status_code == 404


def test_tree_pagination_link_header(hub):
    hub.page_size = 2
    url = f"{hub.url}/api/models/org/model/tree/main?recursive=true&expand=false"
    seen = []
    while url:
        response = requests.get(url, timeout=5)
        seen += [item["path"] for item in response.json()]
        url = response.links.get("next", {}).get("url")
        assert url is None or (url.startswith(hub.url + "/api/models/org/model/tree/main?") and "cursor=" in url)
    assert seen == ["README.md", "config.json", "onnx", "onnx/model.onnx"]
    assert "Link" not in requests.get(f"{hub.url}/api/models/org/model/tree/main/onnx", timeout=5).headers


def test_renamed_repo_answers_307_everywhere(hub):
    hub.rename("org/model", "org/renamed")
    hub.rename("org/renamed", "neworg/final")
    api_answer = requests.get(f"{hub.url}/api/models/org/model?blobs=true", allow_redirects=False, timeout=5)
    assert api_answer.status_code == 307 and api_answer.headers["Location"] == "/api/models/neworg/final?blobs=true"
    resolved = requests.head(resolve_url(hub, "config.json"), timeout=5)
    assert resolved.status_code == 307
    assert resolved.headers["Location"] == "/neworg/final/resolve/main/config.json"
    assert requests.get(resolve_url(hub, "config.json"), timeout=5).content == CONFIG


def test_token_recorded_per_request_and_error_headers(hub):
    url = f"{hub.url}/api/models/org/nope"
    anonymous = requests.get(url, timeout=5)
    authed = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert (anonymous.status_code, authed.status_code) == (401, 404)
    assert anonymous.headers["X-Error-Code"] == "RepoNotFound" and anonymous.json()["error"]
    assert [r.token for r in hub.requests] == [None, TOKEN]
    assert hub.requests[1].headers["AUTHORIZATION"] == f"Bearer {TOKEN}"
    assert hub.count(origin="hub", method="GET", path_contains="org/nope", status=404) == 1
    hub.clear_requests()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(resolve_url(hub, "onnx/model.onnx"), headers=auth, timeout=5).content == WEIGHTS
    assert [(r.origin, r.token) for r in hub.requests] == [("hub", TOKEN), ("cdn", None)]  # requests strips it


def test_keep_alive_is_fast_and_concurrency_is_safe(hub):
    with requests.Session() as session:
        start = time.monotonic()
        for _ in range(30):
            assert session.get(resolve_url(hub, "config.json"), timeout=5).content == CONFIG
        assert time.monotonic() - start < 1.0  # no 40 ms Nagle stall per request

    def fetch(_):
        with requests.Session() as session:
            return [session.get(resolve_url(hub, "onnx/model.onnx"), timeout=10).content for _ in range(4)]

    with ThreadPoolExecutor(16) as pool:
        results = [body for bodies in pool.map(fetch, range(16)) for body in bodies]
    assert results == [WEIGHTS] * 64
    assert hub.cdn_bytes_sent == 64 * len(WEIGHTS)
