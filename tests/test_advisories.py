"""Warnings at lock time, each seen the way a user sees it: `warning:` lines and exit codes."""

from __future__ import annotations

import pytest

from tests.clirun import invoke
from tests.fakehub import LFS
from video_censor_personal.lockfile import read_lockfile

ONNX = LFS(b"onnx bytes " * 50)
TASK = "image-classification"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def declare(project, *models: tuple[str, str], extra: str = "") -> None:
    """models.toml with one [models.NAME] table per (name, repo)."""
    text = "".join(f'[models.{name}]\nrepo = "{repo}"\n{extra}\n' for name, repo in models)
    (project / "models.toml").write_text(text, encoding="utf-8")


def repo(hub, repo_id: str, files=None, **attrs):
    created = hub.create_repo(repo_id, **attrs)
    created.commit(files or {"model.onnx": ONNX, "config.json": b"{}"})
    return created


def warnings_for(result, model: str) -> list[str]:
    return [line for line in result.warning_lines if line.startswith(f"warning: {model}: ")]


# ---------------------------------------------------------------- successors


def test_successor_chain_is_followed_to_the_newest_and_named(fake_hub, project, capsys):
    repo(fake_hub, "org/net-v1", card={"new_version": "org/net-v2"})
    repo(fake_hub, "org/net-v2", card={"new_version": "org/net-v3"})
    repo(fake_hub, "org/net-v3")
    declare(project, ("net", "org/net-v1"))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    [line] = warnings_for(result, "net")
    assert "org/net-v1 has a newer version: org/net-v3 (via org/net-v2 -> org/net-v3)" in line
    assert 'set repo = "org/net-v3" in [models.net]' in line
    assert read_lockfile(project / "models.lock").model("net").repo == "org/net-v1"


def test_successor_cycle_stops_at_the_first_repeated_id(fake_hub, project, capsys):
    repo(fake_hub, "org/a", card={"new_version": "org/b"})
    repo(fake_hub, "org/b", card={"new_version": "org/c"})
    repo(fake_hub, "org/c", card={"new_version": "org/b"})  # b -> c -> b: a loop after a
    repo(fake_hub, "org/x", card={"new_version": "org/y"})
    repo(fake_hub, "org/y", card={"new_version": "org/x"})  # back to the model itself
    declare(project, ("a", "org/a"), ("x", "org/x"))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    assert "has a newer version: org/c (via org/b -> org/c)" in warnings_for(result, "a")[0]
    assert "has a newer version: org/y;" in warnings_for(result, "x")[0]
    assert fake_hub.count(method="GET", path_contains="/api/models/org/b") == 1  # each card read once


def test_a_successor_that_does_not_exist_ends_the_chain(fake_hub, project, capsys):
    repo(fake_hub, "org/a", card={"new_version": "org/gone"})  # declared, never published
    repo(fake_hub, "org/b", card={"new_version": "org/c"})
    repo(fake_hub, "org/c", card={"new_version": "org/gone-too"})
    declare(project, ("a", "org/a"), ("b", "org/b"))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    assert "org/a has a newer version: org/gone;" in warnings_for(result, "a")[0]  # what the card says
    assert "org/b has a newer version: org/c;" in warnings_for(result, "b")[0]  # the last one that exists


def test_deprecated_model_with_successor_names_it(fake_hub, project, capsys):
    repo(fake_hub, "org/old", card={"deprecated": True, "new_version": "org/new"})
    repo(fake_hub, "org/new")
    declare(project, ("old", "org/old"))
    result = invoke(capsys, "models", "lock")
    [line] = warnings_for(result, "old")
    assert "org/old is deprecated; its newest successor is org/new" in line


def test_deprecated_model_without_successor_gets_alternatives_of_its_task(fake_hub, project, capsys):
    repo(fake_hub, "org/old", card={"deprecated": True}, pipeline_tag=TASK, downloads=10**6)
    repo(fake_hub, "org/popular", pipeline_tag=TASK, downloads=5000)
    repo(fake_hub, "org/niche", pipeline_tag=TASK, downloads=40)
    repo(fake_hub, "org/middle", pipeline_tag=TASK, downloads=900)
    repo(fake_hub, "org/other-task", pipeline_tag="text-generation", downloads=10**7)
    declare(project, ("old", "org/old"))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0
    [line] = warnings_for(result, "old")
    assert "org/old is deprecated by its authors and declares no successor" in line
    assert (f"alternatives for {TASK}: org/popular (5000 downloads), org/middle (900 downloads), "
            "org/niche (40 downloads)") in line  # itself excluded, other tasks excluded, by downloads
    assert "`video-censor models remove old` then `video-censor models add old REPO`" in line


def test_deprecated_model_without_task_points_to_search(fake_hub, project, capsys):
    repo(fake_hub, "org/old", card={"deprecated": True})
    declare(project, ("old", "org/old"))
    [line] = warnings_for(invoke(capsys, "models", "lock"), "old")
    assert "declares no successor" in line and "video-censor models search" in line


def test_successor_cards_are_served_from_the_cache_on_the_next_lock(fake_hub, project, capsys):
    repo(fake_hub, "org/v1", card={"new_version": "org/v2"})
    repo(fake_hub, "org/v2")
    declare(project, ("m", "org/v1"))
    invoke(capsys, "models", "lock")
    fake_hub.clear_requests()
    result = invoke(capsys, "models", "lock")
    assert "org/v2" in warnings_for(result, "m")[0]
    assert fake_hub.count(path_contains="/api/models/org/v2") == 0


# ---------------------------------------------------------------- renames, gating


def test_renamed_repo_names_the_new_id_and_the_lock_keeps_the_requested_one(fake_hub, project, capsys):
    repo(fake_hub, "old-org/detector")
    fake_hub.rename("old-org/detector", "new-org/detector")
    declare(project, ("det", "old-org/detector"))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    [line] = warnings_for(result, "det")
    assert "repo old-org/detector was renamed or moved to new-org/detector" in line
    assert 'set repo = "new-org/detector" in [models.det]' in line
    locked = read_lockfile(project / "models.lock").model("det")
    assert locked.repo == "old-org/detector"
    assert all("/old-org/detector/resolve/" in f.url for f in locked.files)


def test_gated_repo_with_a_token_is_a_note_and_strict_accepts_it(fake_hub, project, capsys, monkeypatch):
    repo(fake_hub, "org/gated", gated=True)
    fake_hub.tokens = {"hf_validtoken"}
    monkeypatch.setenv("HF_TOKEN", "hf_validtoken")
    declare(project, ("g", "org/gated"))
    result = invoke(capsys, "models", "lock", "--strict")
    assert result.exit_code == 0, result.stderr
    assert result.warning_lines == []
    assert [line for line in result.stderr.splitlines() if line.startswith("note: g: org/gated is gated")]
    assert (project / "models.lock").exists()


@pytest.mark.parametrize(("attrs", "words"), [({"gated": True}, "gated and no token"),
                                             ({"disabled": True}, "disabled")])
def test_gated_without_token_and_disabled_are_errors(fake_hub, project, capsys, attrs, words):
    repo(fake_hub, "org/m", **attrs)
    declare(project, ("m", "org/m"))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2
    assert words in result.error_lines[0] and "org/m" in result.error_lines[0]
    assert result.error_lines[0].startswith("error: model 'm': ")
    assert not (project / "models.lock").exists()


# ---------------------------------------------------------------- pins, pickles


def test_pin_behind_its_branch_warns_until_upgraded(fake_hub, project, capsys):
    net = repo(fake_hub, "org/net")
    declare(project, ("net", "org/net"))
    invoke(capsys, "models", "lock")
    old = net.head()
    new = net.commit_update({"config.json": b'{"v": 2}'})
    result = invoke(capsys, "models", "lock")
    [line] = warnings_for(result, "net")
    assert f"newer commit available on 'main' of org/net: locked {old[:7]}, head {new[:7]}" in line
    assert "video-censor models lock --upgrade-model net" in line
    result = invoke(capsys, "models", "lock", "--upgrade-model", "net")
    assert warnings_for(result, "net") == []
    assert read_lockfile(project / "models.lock").model("net").commit == new


def test_locked_pickle_with_safetensors_beside_it_warns(fake_hub, project, capsys):
    repo(fake_hub, "org/torch", {"pytorch_model.bin": LFS(b"pickle"), "model.safetensors": LFS(b"safe"),
                                 "config.json": b"{}"})
    declare(project, ("t", "org/torch"), extra='include = ["*.bin", "*.json"]')
    [line] = warnings_for(invoke(capsys, "models", "lock"), "t")
    assert "locked file pytorch_model.bin is a pickle" in line
    assert "model.safetensors sits beside it in org/torch" in line
    assert "include model.safetensors and exclude pytorch_model.bin" in line


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl", ".ckpt"])
def test_every_pickle_suffix_is_flagged_beside_onnx(fake_hub, project, capsys, suffix):
    repo(fake_hub, "org/m", {f"weights/model{suffix}": LFS(b"p"), "weights/model.onnx": ONNX})
    declare(project, ("m", "org/m"))
    [line] = warnings_for(invoke(capsys, "models", "lock"), "m")
    assert f"weights/model{suffix} is a pickle" in line and "weights/model.onnx sits beside it" in line


def test_pickles_without_a_safe_file_in_their_directory_are_not_flagged(fake_hub, project, capsys):
    repo(fake_hub, "org/m", {"pytorch_model.bin": LFS(b"p"), "onnx/model.onnx": ONNX})
    repo(fake_hub, "org/safe", {"pytorch_model.bin": LFS(b"p"), "model.safetensors": LFS(b"s")})
    (project / "models.toml").write_text('[models.m]\nrepo = "org/m"\n\n[models.safe]\nrepo = "org/safe"\n'
                                         'include = ["*.safetensors"]\n')
    result = invoke(capsys, "models", "lock", "--strict")
    assert result.exit_code == 0, result.stderr
    assert result.warning_lines == []


# ---------------------------------------------------------------- --strict


def test_strict_exits_1_and_leaves_the_lock_unchanged(fake_hub, project, capsys):
    net = repo(fake_hub, "org/net")
    declare(project, ("net", "org/net"))
    assert invoke(capsys, "models", "lock", "--strict").exit_code == 0
    before = (project / "models.lock").read_bytes()
    net.commit_update({"config.json": b"[]"})
    repo(fake_hub, "org/next")
    net.card = {"new_version": "org/next"}
    declare(project, ("net", "org/net"), extra='include = ["*.onnx"]')  # a change that would be written
    result = invoke(capsys, "models", "lock", "--strict")
    assert result.exit_code == 1
    assert len(warnings_for(result, "net")) == 2
    assert result.error_lines == ["error: --strict: 2 warning(s); models.lock not written"]
    assert (project / "models.lock").read_bytes() == before


def test_strict_without_a_previous_lock_writes_nothing(fake_hub, project, capsys):
    repo(fake_hub, "org/old", card={"deprecated": True})
    declare(project, ("old", "org/old"))
    result = invoke(capsys, "models", "lock", "--strict")
    assert result.exit_code == 1 and result.error_lines
    assert not (project / "models.lock").exists()


def test_a_healthy_model_gets_no_warning_and_no_note(fake_hub, project, capsys):
    repo(fake_hub, "org/fine", pipeline_tag=TASK)
    declare(project, ("fine", "org/fine"))
    result = invoke(capsys, "models", "lock", "--strict")
    assert result.exit_code == 0
    assert not [line for line in result.stderr.splitlines() if line.startswith(("warning:", "note:"))]
