"""`video-censor models lock` against the fake Hub: what users of `uv lock` expect."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from tests.clirun import invoke
from tests.fakehub import LFS, Fault
from video_censor_personal.lockfile import read_lockfile
from video_censor_personal.progress import format_size

ONNX = b"\x08\x07" + bytes(range(256)) * 40
CONFIG = b'{"id2label": {"0": "normal", "1": "nsfw"}}'


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def manifest(project, text: str) -> None:
    (project / "models.toml").write_text(text, encoding="utf-8")


TWO_MODELS = """\
[models.classifier]
repo = "org/classifier"
include = ["onnx/*", "*.json"]

[models.tagger]
repo = "org/tagger"
revision = "v1"
"""


@pytest.fixture
def two_repos(fake_hub):
    classifier = fake_hub.create_repo("org/classifier")
    classifier.commit({"onnx/model.onnx": LFS(ONNX), "config.json": CONFIG, "README.md": b"# c"})
    tagger = fake_hub.create_repo("org/tagger")
    first = tagger.commit({"tagger.onnx": LFS(ONNX[::-1]), "vocab.txt": b"a\nb\n"})
    tagger.tag("v1", first)
    return classifier, tagger


def test_lock_pins_every_file_by_commit_size_and_sha256(fake_hub, two_repos, project, capsys):
    manifest(project, TWO_MODELS)
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    assert "Locked 2 model(s) (2 added)" in result.stderr
    lock = read_lockfile(project / "models.lock")
    served = {"onnx/model.onnx": ONNX, "config.json": CONFIG, "tagger.onnx": ONNX[::-1], "vocab.txt": b"a\nb\n"}
    files = {f.path: f for model in lock.models for f in model.files}
    assert set(files) == set(served)  # README.md is not included by the classifier's patterns
    for path, data in served.items():
        assert (files[path].size, files[path].sha256) == (len(data), sha256(data))
    classifier = lock.model("classifier")
    assert classifier.commit == two_repos[0].branches["main"]
    assert classifier.files[0].url.startswith(f"{fake_hub.url}/org/classifier/resolve/{classifier.commit}/")
    first_text = (project / "models.lock").read_text()
    assert invoke(capsys, "models", "lock").exit_code == 0
    assert (project / "models.lock").read_text() == first_text  # byte-identical
    assert invoke(capsys, "models", "lock", "--check").exit_code == 0


def test_lfs_hashes_come_from_metadata_and_only_plain_files_are_downloaded(fake_hub, two_repos, project, capsys):
    manifest(project, TWO_MODELS)
    assert invoke(capsys, "models", "lock").exit_code == 0
    assert fake_hub.count(origin="cdn") == 0
    assert fake_hub.count(origin="hub", method="GET", path_contains="/resolve/") == 2  # config.json, vocab.txt


def test_existing_pins_are_kept_until_upgrade(fake_hub, two_repos, project, capsys):
    classifier, _ = two_repos
    manifest(project, TWO_MODELS)
    invoke(capsys, "models", "lock")
    old_commit = read_lockfile(project / "models.lock").model("classifier").commit
    new_commit = classifier.commit_update({"config.json": b"{}"})

    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0
    assert read_lockfile(project / "models.lock").model("classifier").commit == old_commit
    assert any("newer commit available" in line and "classifier" in line for line in result.warning_lines)

    result = invoke(capsys, "models", "lock", "--upgrade-model", "classifier")
    assert result.exit_code == 0, result.stderr
    lock = read_lockfile(project / "models.lock")
    assert lock.model("classifier").commit == new_commit
    assert lock.model("classifier").file("config.json").sha256 == sha256(b"{}")
    assert f"{old_commit[:7]} -> {new_commit[:7]}" in result.stderr


def test_changed_include_keeps_the_commit_and_reselects_files(fake_hub, two_repos, project, capsys):
    classifier, _ = two_repos
    manifest(project, TWO_MODELS)
    invoke(capsys, "models", "lock")
    old_commit = read_lockfile(project / "models.lock").model("classifier").commit
    classifier.commit_update({"extra.json": b"{}"})  # main moves on
    manifest(project, TWO_MODELS.replace('include = ["onnx/*", "*.json"]', 'include = ["onnx/*", "*.md"]'))
    assert invoke(capsys, "models", "lock").exit_code == 0
    locked = read_lockfile(project / "models.lock").model("classifier")
    assert locked.commit == old_commit
    assert [f.path for f in locked.files] == ["README.md", "onnx/model.onnx"]


def test_changed_revision_moves_the_commit_and_upgrade_moves_everything(fake_hub, two_repos, project, capsys):
    classifier, tagger = two_repos
    manifest(project, TWO_MODELS)
    invoke(capsys, "models", "lock")
    second = tagger.commit_update({"vocab.txt": b"a\nb\nc\n"})
    tagger.tag("v2", second)
    manifest(project, TWO_MODELS.replace('"v1"', '"v2"'))
    assert invoke(capsys, "models", "lock").exit_code == 0
    assert read_lockfile(project / "models.lock").model("tagger").commit == second
    newest = classifier.commit_update({"config.json": b"[]"})
    assert invoke(capsys, "models", "lock", "-U").exit_code == 0
    assert read_lockfile(project / "models.lock").model("classifier").commit == newest


def test_dry_run_shows_commit_move_files_and_size_delta_without_writing(fake_hub, two_repos, project, capsys):
    classifier, _ = two_repos
    manifest(project, TWO_MODELS)
    invoke(capsys, "models", "lock")
    before = (project / "models.lock").read_bytes()
    classifier.commit({"onnx/model.onnx": LFS(ONNX + ONNX), "labels.json": b"[]"})
    result = invoke(capsys, "models", "lock", "--dry-run", "-P", "classifier")
    assert result.exit_code == 0
    assert (project / "models.lock").read_bytes() == before
    line = next(line for line in result.stderr.splitlines() if "classifier" in line and "->" in line)
    assert "+labels.json" in line and "-config.json" in line
    assert f"(+{format_size(len(ONNX) + len(b'[]') - len(CONFIG))})" in line


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[models.x]\nrepo = "org/nothere"\n', "repo org/nothere not found"),
        ('[models.x]\nrepo = "org/classifier"\nrevision = "nobranch"\n', "revision 'nobranch' not found"),
        ('[models.x]\nrepo = "org/classifier"\ninclude = ["*.safetensors"]\n', "matches no file"),
    ],
)
def test_resolution_errors_exit_2_and_leave_the_old_lock(fake_hub, two_repos, project, capsys, toml, words):
    manifest(project, TWO_MODELS)
    invoke(capsys, "models", "lock")
    before = (project / "models.lock").read_bytes()
    manifest(project, TWO_MODELS + toml)
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2
    assert words in result.error_lines[0]
    assert "Traceback" not in result.stderr
    assert (project / "models.lock").read_bytes() == before


def test_gated_repo_needs_a_token_and_the_token_never_leaks(fake_hub, project, capsys, monkeypatch):
    fake_hub.create_repo("org/gated", gated="manual").commit({"m.onnx": LFS(ONNX), "c.json": CONFIG})
    fake_hub.tokens = {"hf_secret_token_123"}
    manifest(project, '[models.g]\nrepo = "org/gated"\n')
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2 and "gated" in result.error_lines[0]
    assert not (project / "models.lock").exists()

    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_123")
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    assert "note: g:" in result.stderr and "gated" in result.stderr
    text = (project / "models.lock").read_text()
    assert "hf_secret_token_123" not in text + result.stderr + result.stdout
    assert read_lockfile(project / "models.lock").model("g").file("c.json").sha256 == sha256(CONFIG)


def test_hub_unreachable_exits_3_after_retries(fake_hub, two_repos, project, capsys):
    manifest(project, TWO_MODELS)
    fake_hub.add_fault(Fault("status", origin="hub", path="/api/models/org/tagger", times=None, status=503))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 3
    assert "org/tagger" in result.error_lines[0]
    assert fake_hub.count(origin="hub", path_contains="/api/models/org/tagger") == 4  # 1 try + 3 retries
    assert not (project / "models.lock").exists()


def test_429_with_retry_after_is_retried(fake_hub, two_repos, project, capsys):
    manifest(project, TWO_MODELS)
    fake_hub.add_fault(Fault("status", origin="hub", path="/api/models/org/tagger", times=2, status=429,
                             retry_after=1))
    assert invoke(capsys, "models", "lock").exit_code == 0


def test_refused_connection_is_a_network_error(project, capsys, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    manifest(project, '[models.x]\nrepo = "org/x"\n')
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 3
    assert result.error_lines[0].startswith("error: model 'x': org/x@main: cannot get an answer from http://127.0.0.1:9")


def test_offline_lock_is_refused_clearly(project, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manifest(project, '[models.x]\nrepo = "org/x"\n')
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 3 and "offline" in result.error_lines[0]


def test_empty_manifest_locks_to_an_empty_lock(project, capsys):
    manifest(project, "# nothing yet\n")
    assert invoke(capsys, "models", "lock").exit_code == 0
    assert read_lockfile(project / "models.lock").models == ()


@pytest.mark.parametrize("argv", [["--help"], ["models", "lock", "--check"]])
def test_start_up_stays_light(project, argv):
    manifest(project, "")
    (project / "models.lock").write_text("")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "video_censor_personal", *argv],
                          capture_output=True, text=True, cwd=project)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"huggingface_hub", "pooch", "requests", "onnxruntime", "av", "numpy", "httpx"}


def test_a_hub_path_escaping_the_model_directory_is_refused(fake_hub, project, capsys, monkeypatch):
    # A hostile Hub: the fake itself refuses such paths, so its check is lifted for this commit.
    monkeypatch.setattr("tests.fakehub.model.check_path", lambda path: None)
    fake_hub.create_repo("org/evil").commit({"../../.bashrc": b"rm -rf ~", "model.onnx": LFS(ONNX)})
    manifest(project, '[models.evil]\nrepo = "org/evil"\n')
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2
    assert "escapes the model directory" in result.error_lines[0] and "org/evil" in result.error_lines[0]
    assert not (project / "models.lock").exists()


def test_offline_lock_keeps_unchanged_pins_and_names_what_needs_the_hub(fake_hub, two_repos, project, capsys,
                                                                        monkeypatch):
    manifest(project, TWO_MODELS)
    assert invoke(capsys, "models", "lock").exit_code == 0
    before = read_lockfile(project / "models.lock")
    fake_hub.clear_requests()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manifest(project, "# only the tagger now\n" + TWO_MODELS[TWO_MODELS.index("[models.tagger]"):])
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    assert "note: models.toml: offline: every pin kept as locked" in result.stderr
    assert read_lockfile(project / "models.lock").models == (before.model("tagger"),)
    assert invoke(capsys, "models", "lock", "--check").exit_code == 0

    manifest(project, TWO_MODELS)
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 3
    assert result.error_lines == ["error: offline (--offline or HF_HUB_OFFLINE=1): resolving classifier needs the Hub"]
    assert invoke(capsys, "models", "lock", "-U").exit_code == 3
    assert fake_hub.requests == []


def test_models_remove_works_offline(fake_hub, two_repos, project, capsys, monkeypatch):
    manifest(project, TWO_MODELS)
    assert invoke(capsys, "models", "lock").exit_code == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = invoke(capsys, "models", "remove", "classifier")
    assert result.exit_code == 0, result.stderr
    assert "[models.classifier]" not in (project / "models.toml").read_text()
    assert [m.name for m in read_lockfile(project / "models.lock").models] == ["tagger"]
