"""`models add` / `models remove`: comments and layout survive byte for byte, never a half-done state.

The expected files under tests/data/manifest_edit/ were written by hand: they are what a
person editing commented.toml would produce.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
import tomlkit

from tests.clirun import invoke
from tests.fakehub import LFS
from video_censor_personal.lockfile import read_lockfile
from video_censor_personal.manifest_edit import NewModel, add_table_text, remove_table_text

GOLDEN = Path(__file__).parent / "data" / "manifest_edit"
COMMENTED = (GOLDEN / "commented.toml").read_bytes()
TAGGER_ARGS = ("tagger", "org/tagger", "--revision", "v1", "--include", "*.onnx", "--include", "*.json")


@pytest.fixture
def hub(fake_hub):
    fake_hub.create_repo("org/nsfw").commit({"onnx/model.onnx": LFS(b"nsfw" * 64), "config.json": b"{}"})
    fake_hub.create_repo("org/violence").commit({"model.onnx": LFS(b"violence" * 32)})
    fake_hub.create_repo("org/whisper").commit({"encoder.onnx": LFS(b"whisper" * 32), "README.md": b"# w"})
    tagger = fake_hub.create_repo("org/tagger")
    tagger.tag("v1", tagger.commit({"tagger.onnx": LFS(b"tagger" * 32), "vocab.json": b"[]", "notes.txt": b"n"}))
    fake_hub.create_repo("org/gated", gated=True).commit({"model.onnx": LFS(b"gated")})
    return fake_hub


@pytest.fixture
def project(tmp_path, monkeypatch, hub, capsys):
    """A project with the commented models.toml, already locked."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_bytes(COMMENTED)
    assert invoke(capsys, "models", "lock").exit_code == 0
    return tmp_path


def files(project) -> tuple[bytes, bytes]:
    return (project / "models.toml").read_bytes(), (project / "models.lock").read_bytes()


# ---------------------------------------------------------------- golden files


def test_add_appends_one_table_and_keeps_every_other_byte(project, hub, capsys):
    result = invoke(capsys, "models", "add", *TAGGER_ARGS)
    assert result.exit_code == 0, result.stderr
    assert (project / "models.toml").read_bytes() == (GOLDEN / "commented.add.toml").read_bytes()
    locked = read_lockfile(project / "models.lock").model("tagger")
    assert locked.commit == hub.repo("org/tagger").git_tags["v1"]
    assert [f.path for f in locked.files] == ["tagger.onnx", "vocab.json"]
    assert "Added tagger (org/tagger @" in result.stderr
    assert invoke(capsys, "models", "lock", "--check").exit_code == 0


@pytest.mark.parametrize("name", ["nsfw", "whisper"])
def test_remove_takes_the_table_its_subtables_and_its_own_comments_only(project, capsys, name):
    result = invoke(capsys, "models", "remove", name)
    assert result.exit_code == 0, result.stderr
    assert (project / "models.toml").read_bytes() == (GOLDEN / f"commented.remove-{name}.toml").read_bytes()
    assert name not in read_lockfile(project / "models.lock").names
    assert invoke(capsys, "models", "lock", "--check").exit_code == 0


def test_add_then_remove_gives_back_the_same_bytes(project, capsys):
    before = files(project)
    assert invoke(capsys, "models", "add", *TAGGER_ARGS).exit_code == 0
    assert invoke(capsys, "models", "remove", "tagger").exit_code == 0
    assert files(project) == before


# ---------------------------------------------------------------- refusals: nothing written


@pytest.mark.parametrize(("args", "words", "asks_hub"), [
    (("nsfw", "org/tagger"), "already has a model named 'nsfw'", False),
    (("Bad_Name", "org/tagger"), "bad model name 'Bad_Name'", False),
    (("x", "not-a-repo"), "repo must look like 'org/name'", False),
    (("x", "org/tagger", "--include", "/abs"), "include pattern '/abs' is malformed", False),
    (("x", "org/nothere"), "repo org/nothere not found", True),
    (("x", "org/tagger", "--revision", "v9"), "revision 'v9' not found in org/tagger", True),
])
def test_bad_additions_are_refused_before_anything_is_written(project, hub, capsys, args, words, asks_hub):
    before = files(project)
    hub.clear_requests()
    result = invoke(capsys, "models", "add", *args)
    assert result.exit_code == 2
    assert words in result.error_lines[0]
    assert files(project) == before
    assert (hub.count() > 0) == asks_hub


def test_removing_an_unknown_model_is_refused(project, capsys):
    before = files(project)
    result = invoke(capsys, "models", "remove", "nothere")
    assert result.exit_code == 2 and "has no model named 'nothere'" in result.error_lines[0]
    assert files(project) == before


# ---------------------------------------------------------------- rollback


@pytest.mark.parametrize(("args", "words"), [
    (("g", "org/gated"), "gated and no token"),  # the repo exists: only locking finds the problem
    (("t", "org/tagger", "--include", "*.bin"), "matches no file"),
])
def test_a_failed_lock_leaves_models_toml_and_the_lock_untouched(project, capsys, args, words):
    before = files(project)
    result = invoke(capsys, "models", "add", *args)
    assert result.exit_code == 2 and words in result.error_lines[0]
    assert files(project) == before


def test_a_lock_that_cannot_be_written_rolls_models_toml_back(project, capsys, mocker):
    (project / "models.toml").chmod(0o640)
    before = files(project)
    mocker.patch("video_censor_personal.manifest_edit.write_lockfile", side_effect=OSError(28, "No space left"))
    result = invoke(capsys, "models", "add", *TAGGER_ARGS)
    assert result.exit_code == 4 and result.error_lines == ["error: no space left on the device"]  # DESIGN: disk is 4
    assert files(project) == before
    assert stat.S_IMODE((project / "models.toml").stat().st_mode) == 0o640
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_edits_keep_the_file_permissions(project, capsys):
    (project / "models.toml").chmod(0o640)
    assert invoke(capsys, "models", "add", *TAGGER_ARGS).exit_code == 0
    assert stat.S_IMODE((project / "models.toml").stat().st_mode) == 0o640


@pytest.fixture
def empty_dir(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_add_creates_models_toml_when_there_is_none(hub, empty_dir, capsys):
    result = invoke(capsys, "models", "add", "violence", "org/violence")
    assert result.exit_code == 0, result.stderr
    assert (empty_dir / "models.toml").read_text() == '[models.violence]\nrepo = "org/violence"\n'
    assert read_lockfile(empty_dir / "models.lock").names == ["violence"]


def test_a_failed_add_without_models_toml_leaves_no_file(hub, empty_dir, capsys):
    assert invoke(capsys, "models", "add", "g", "org/gated").exit_code == 2
    assert list(empty_dir.iterdir()) == []


def test_the_manifest_and_lockfile_options_are_honoured(hub, tmp_path, capsys):
    shutil.copy(GOLDEN / "commented.toml", tmp_path / "custom.toml")
    args = ("models", "--manifest", str(tmp_path / "custom.toml"), "--lockfile", str(tmp_path / "custom.lock"))
    assert invoke(capsys, *args, "add", *TAGGER_ARGS).exit_code == 0
    assert (tmp_path / "custom.toml").read_bytes() == (GOLDEN / "commented.add.toml").read_bytes()
    assert "tagger" in read_lockfile(tmp_path / "custom.lock").names


# ---------------------------------------------------------------- text edits (pure)


def test_windows_line_endings_are_kept():
    text = '# mine\r\n[models.a]\r\nrepo = "o/a"\r\n'
    added = add_table_text(text, NewModel("b", "o/b"))
    assert added == text + '\r\n[models.b]\r\nrepo = "o/b"\r\n'
    assert remove_table_text(added, "b") == text


def test_names_that_need_quotes_are_quoted():
    added = add_table_text("", NewModel("nsfw.v2", "o/b", include=("*.onnx",)))
    assert added == '[models."nsfw.v2"]\nrepo = "o/b"\ninclude = ["*.onnx"]\n'
    assert remove_table_text(added, "nsfw.v2") == ""


@pytest.mark.parametrize("text", [
    'models = { a = { repo = "o/a" }, b = { repo = "o/b" } }\n',
    '[models]\na.repo = "o/a"\nb = { repo = "o/b" }  # inline\n',
])
def test_layouts_without_table_headers_fall_back_to_tomlkit(text):
    edited = remove_table_text(text, "a")
    assert tomlkit.parse(edited).unwrap() == {"models": {"b": {"repo": "o/b"}}}
