"""`models export --hf-cache [DIR]`, proven by huggingface_hub itself.

The real client runs in a child process (huggingface_hub reads HF_HUB_OFFLINE and HF_HUB_CACHE
when it is imported): `snapshot_download` and `hf_hub_download` with `local_files_only=True`
and HF_HUB_OFFLINE=1, by commit and by the requested revision's name, must return our files
byte for byte without a request; `hf cache verify` (its CLI) checks every exported file against
the (fake) Hub's own checksums: sha256 for LFS files, git blob sha1 for plain ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.download_support import blob_of, flip_byte, payload, publish, view_of, write_lock
from tests.fakehub import Fault, git_blob_sha1
from video_censor_personal.interop.hf_cache import hub_cache_dir

WEIGHTS = payload(1 << 20, seed=21)
TOKENIZER = payload(3000, seed=22)  # LFS on the (fake) Hub, though the Hub's default rules would not say so
CONFIG = b'{"id2label": {"0": "normal", "1": "nsfw"}}'
HF_CLI = Path(sys.executable).with_name("hf")
LOADER = """
import json, sys
from huggingface_hub import hf_hub_download, snapshot_download
out = []
for repo, revision, filename in json.loads(sys.argv[1]):
    if filename is None:
        out.append(snapshot_download(repo, revision=revision, local_files_only=True))
    else:
        out.append(hf_hub_download(repo, filename, revision=revision, local_files_only=True))
print(json.dumps(out))
"""


@pytest.fixture
def project(fake_hub, tmp_path, monkeypatch):
    """Two models downloaded into our cache: one locked from `main`, one requested by commit."""
    monkeypatch.chdir(tmp_path)
    vit = publish(fake_hub, "vit", {"config.json": CONFIG, "onnx/model.onnx": WEIGHTS, "tokenizer.json": TOKENIZER},
                  repo_id="acme/vit-nsfw")
    pinned = publish(fake_hub, "pinned", {"model.onnx": payload(5000, seed=23), "README.md": b"# pinned\n"},
                     repo_id="other/pinned")
    pinned = replace(pinned, revision=pinned.commit)
    write_lock(tmp_path / "models.lock", vit, pinned)
    return {"vit": vit, "pinned": pinned}


def download(capsys) -> None:
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0, result.stderr


def export(capsys, directory: Path, *extra: str):
    return invoke(capsys, *extra, "models", "export", "--hf-cache", str(directory))


def load_with_huggingface_hub(hub_cache: Path, calls: list) -> list[Path]:
    """The real client, offline, in a fresh process: the paths it returns for each call."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache)}
    done = subprocess.run([sys.executable, "-c", LOADER, json.dumps(calls)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [Path(p) for p in json.loads(done.stdout)]


def hf_cache_verify(hub_cache: Path, repo: str, revision: str, *flags: str) -> subprocess.CompletedProcess:
    """huggingface_hub's own CLI: every local file against the Hub's checksums at that revision."""
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}  # it asks the (fake) Hub
    return subprocess.run([str(HF_CLI), "cache", "verify", repo, "--revision", revision, "--cache-dir",
                           str(hub_cache), "--format", "human", *flags], env=env, capture_output=True, text=True,
                          timeout=60)


def tree(directory: Path) -> dict[str, tuple]:
    """Every entry with what a change would change: inode, mtime, link target."""
    return {str(p.relative_to(directory)): (p.lstat().st_ino, p.lstat().st_mtime_ns,
                                              os.readlink(p) if p.is_symlink() else None)
            for p in directory.rglob("*")}


def test_huggingface_hub_loads_each_model_offline_by_commit_and_by_revision(capsys, fake_hub, project, tmp_path):
    download(capsys)
    hub_cache = tmp_path / "hf"
    stale_ref = hub_cache / "models--acme--vit-nsfw" / "refs" / "main"
    stale_ref.parent.mkdir(parents=True)
    stale_ref.write_text("0" * 40)  # an older `main` from an earlier download: the lock's commit wins
    result = export(capsys, hub_cache)
    assert result.exit_code == 0, result.stderr
    assert "Exported 5 file(s) of 2 model(s)" in result.stderr
    vit, pinned = project["vit"], project["pinned"]
    fake_hub.clear_requests()
    calls = [["acme/vit-nsfw", vit.commit, None], ["acme/vit-nsfw", "main", None],
             ["other/pinned", pinned.commit, None]]
    calls += [["acme/vit-nsfw", revision, f.path] for revision in (vit.commit, "main") for f in vit.files]
    calls += [["other/pinned", pinned.commit, f.path] for f in pinned.files]
    paths = load_with_huggingface_hub(hub_cache, calls)
    assert fake_hub.requests == []
    assert paths[0] == paths[1] == hub_cache / "models--acme--vit-nsfw" / "snapshots" / vit.commit
    for snapshot, model in ((paths[0], vit), (paths[2], pinned)):
        assert {p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()} == {
            f.path for f in model.files}
        assert all((snapshot / f.path).read_bytes() == view_of(model, f.path).read_bytes() for f in model.files)
    files = vit.files + vit.files + pinned.files
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths[3:]] == [f.sha256 for f in files]
    assert not (hub_cache / "models--other--pinned" / "refs").exists()  # requested by commit: no ref to write


def test_hf_cache_verify_finds_nothing_wrong(capsys, fake_hub, project, tmp_path):
    download(capsys)
    assert export(capsys, tmp_path / "hf").exit_code == 0
    for model in project.values():
        for revision in {model.revision, model.commit}:
            done = hf_cache_verify(tmp_path / "hf", model.repo, revision, "--fail-on-missing-files",
                                   "--fail-on-extra-files")
            assert done.returncode == 0, done.stdout + done.stderr
            assert f"Verified {len(model.files)} file(s)" in done.stdout and "All checksums match" in done.stdout


def test_a_damaged_blob_fails_hf_verify_and_the_next_export_replaces_it(capsys, fake_hub, project, tmp_path):
    download(capsys)
    hub_cache, vit = tmp_path / "hf", project["vit"]
    assert export(capsys, hub_cache).exit_code == 0
    blob = hub_cache / "models--acme--vit-nsfw" / "blobs" / vit.file("onnx/model.onnx").sha256
    blob.unlink()
    shutil.copyfile(view_of(vit, "onnx/model.onnx"), blob)  # a copy of its own, as a download would make it
    flip_byte(blob, 100)
    done = hf_cache_verify(hub_cache, vit.repo, "main")
    assert done.returncode == 1 and "onnx/model.onnx" in done.stdout
    result = export(capsys, hub_cache)
    assert result.exit_code == 0, result.stderr
    assert blob.read_bytes() == WEIGHTS and hf_cache_verify(hub_cache, vit.repo, "main").returncode == 0


def test_blobs_are_named_by_etag_so_huggingface_hub_online_fetches_nothing(capsys, fake_hub, project, tmp_path):
    download(capsys)
    hub_cache, vit = tmp_path / "hf", project["vit"]
    assert export(capsys, hub_cache).exit_code == 0
    blobs = hub_cache / "models--acme--vit-nsfw" / "blobs"
    assert {p.name for p in blobs.iterdir()} == {
        git_blob_sha1(CONFIG), vit.file("onnx/model.onnx").sha256, vit.file("tokenizer.json").sha256}
    # Without the snapshot, huggingface_hub online asks the Hub for each file's etag (HEAD) and,
    # finding a blob of that name, links it instead of downloading it.
    shutil.rmtree(hub_cache / "models--acme--vit-nsfw" / "snapshots")
    fake_hub.clear_requests()
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_DISABLE_XET": "1"}
    script = ("import sys; from huggingface_hub import hf_hub_download as get\n"
              "for p in sys.argv[2:]: get('acme/vit-nsfw', p, revision=sys.argv[1])")
    done = subprocess.run([sys.executable, "-c", script, vit.commit, *(f.path for f in vit.files)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert fake_hub.count(method="HEAD") == 3 and fake_hub.count(method="GET") == 0


@pytest.mark.parametrize("hub", ["offline", "down"])
def test_without_the_hub_the_lfs_files_are_named_by_its_rules(capsys, fake_hub, project, tmp_path, monkeypatch, hub):
    download(capsys)
    if hub == "offline":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        fake_hub.add_fault(Fault("status", origin="hub", path="/api/models", times=None, status=503))
    fake_hub.clear_requests()
    result = export(capsys, tmp_path / "hf")
    assert result.exit_code == 0, result.stderr
    assert (fake_hub.requests == []) == (hub == "offline")
    assert ("note: the Hub was not asked (offline) or did not answer which files of pinned, vit are LFS"
            in result.stderr)
    vit = project["vit"]
    blobs = {p.name for p in (tmp_path / "hf" / "models--acme--vit-nsfw" / "blobs").iterdir()}
    assert blobs == {git_blob_sha1(CONFIG), git_blob_sha1(TOKENIZER), vit.file("onnx/model.onnx").sha256}
    fake_hub.clear_faults()
    assert hf_cache_verify(tmp_path / "hf", vit.repo, "main").returncode == 0  # bytes are what count


def test_blobs_are_hardlinks_and_a_second_run_changes_nothing(capsys, project, tmp_path):
    download(capsys)
    hub_cache, vit = tmp_path / "hf", project["vit"]
    assert export(capsys, hub_cache).exit_code == 0
    blob = hub_cache / "models--acme--vit-nsfw" / "blobs" / vit.file("onnx/model.onnx").sha256
    assert blob.stat().st_ino == blob_of(vit, "onnx/model.onnx").stat().st_ino
    snapshot_file = hub_cache / "models--acme--vit-nsfw" / "snapshots" / vit.commit / "onnx" / "model.onnx"
    assert os.readlink(snapshot_file) == "../../../blobs/" + blob.name  # relative, as huggingface_hub links
    before = tree(hub_cache)
    result = export(capsys, hub_cache)
    assert result.exit_code == 0 and "(0 linked, 0 B copied)" in result.stderr
    assert tree(hub_cache) == before


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a second filesystem")
def test_another_filesystem_gets_verified_copies(capsys, project, tmp_path):
    download(capsys)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        if os.stat(other).st_dev == tmp_path.stat().st_dev:
            pytest.skip("/dev/shm is on the same filesystem here")
        result = export(capsys, Path(other))
        assert result.exit_code == 0, result.stderr
        assert "(0 linked, " in result.stderr and "B copied)" in result.stderr
        blob = Path(other) / "models--acme--vit-nsfw" / "blobs" / project["vit"].file("onnx/model.onnx").sha256
        assert blob.read_bytes() == WEIGHTS and blob.stat().st_nlink == 1


def test_where_symlinks_are_refused_the_snapshot_holds_the_file(capsys, project, tmp_path, mocker):
    download(capsys)
    mocker.patch("os.symlink", side_effect=OSError(1, "symlinks not permitted"))
    assert export(capsys, tmp_path / "hf").exit_code == 0
    snapshot_file = tmp_path / "hf" / "models--acme--vit-nsfw" / "snapshots" / project["vit"].commit / "config.json"
    assert not snapshot_file.is_symlink() and snapshot_file.read_bytes() == CONFIG


def test_default_directory_is_the_one_huggingface_hub_uses(tmp_path):
    for env in ({"HF_HUB_CACHE": str(tmp_path / "a")}, {"HF_HOME": str(tmp_path / "home")},
                {"XDG_CACHE_HOME": str(tmp_path / "xdg")}, {"HOME": str(tmp_path / "user")}):
        full = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME")}
        full.update(env)
        done = subprocess.run([sys.executable, "-c", "from huggingface_hub import constants as c; "
                               "print(c.HF_HUB_CACHE)"], env=full, capture_output=True, text=True, timeout=60)
        assert Path(done.stdout.strip()) == hub_cache_dir(full), env


def test_export_without_a_directory_writes_the_default_hf_cache(capsys, project, tmp_path, monkeypatch):
    download(capsys)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "default-hf"))
    result = invoke(capsys, "models", "export", "--hf-cache")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "default-hf" / "models--acme--vit-nsfw" / "refs" / "main").read_text() == project["vit"].commit


def test_incomplete_cache_exits_1_and_writes_nothing(capsys, project, tmp_path):
    result = export(capsys, tmp_path / "hf")
    assert result.exit_code == 1 and result.error_lines[0].startswith("error: models not downloaded")
    assert "then export again" in result.stderr and not (tmp_path / "hf").exists()


def test_bytes_changed_behind_the_record_are_refused(capsys, project, tmp_path):
    download(capsys)
    view = view_of(project["vit"], "config.json")
    before = view.stat()
    flip_byte(view, 3)
    os.utime(view, ns=(before.st_atime_ns, before.st_mtime_ns))  # the record still matches: no re-hash
    result = export(capsys, tmp_path / "hf")
    assert result.exit_code == 1 and "sha256 mismatch while exporting" in result.error_lines[0]
    assert not list((tmp_path / "hf").rglob("snapshots/*/config.json"))


@pytest.mark.parametrize("argv, message", [
    (("models", "export", "mirror", "--hf-cache"), "not both"),
    (("models", "export"), "needs a DIRECTORY or --hf-cache"),
])
def test_export_targets_are_checked(capsys, project, argv, message):
    result = invoke(capsys, *argv)
    assert result.exit_code == 2 and message in result.error_lines[0]


def test_an_unwritable_hf_cache_is_bad_input(capsys, project, tmp_path):
    download(capsys)
    (tmp_path / "a-file").write_text("x")
    result = export(capsys, tmp_path / "a-file" / "hub")
    assert result.exit_code == 2 and result.error_lines[0].startswith("error: cannot write the Hugging Face cache")
    assert "hint: pass --hf-cache DIR" in result.stderr


def test_a_revision_that_would_leave_refs_is_refused(capsys, fake_hub, project, tmp_path):
    download(capsys)
    write_lock(tmp_path / "models.lock", replace(project["vit"], revision="../../../escaped"))
    result = export(capsys, tmp_path / "hf")
    assert result.exit_code == 2 and "cannot name a file in refs/" in result.error_lines[0]
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "hf").exists()
