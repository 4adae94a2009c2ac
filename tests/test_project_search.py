"""Where a command finds models.toml and models.lock: the nearest models.toml in the current
directory or its parents, the lock beside it; errors name the directory where the search began
and point somewhere a pip-installed user can go (a command), never in a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.clirun import invoke
from tests.download_support import payload, publish, write_lock

START = "start one with `video-censor models add NAME ORG/REPO`"


def test_a_subdirectory_uses_the_projects_manifest_and_lock(capsys, fake_hub, tmp_path, monkeypatch):
    model = publish(fake_hub, "tiny", {"model.onnx": payload(300)})
    write_lock(tmp_path / "models.lock", model)
    (tmp_path / "models.toml").write_text('[models.tiny]\nrepo = "org/tiny"\n')
    (tmp_path / "clips" / "2024").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "clips" / "2024")
    assert invoke(capsys, "models", "lock").exit_code == 0
    assert not (tmp_path / "clips" / "2024" / "models.lock").exists()
    assert "tiny" in (tmp_path / "models.lock").read_text()
    assert invoke(capsys, "--download-models").exit_code == 0
    status = invoke(capsys, "models", "status", "--json")
    assert status.exit_code == 0 and '"lockfile": "' + str(tmp_path / "models.lock") + '"' in status.stdout


def test_a_lock_alone_is_found_in_a_parent_too(capsys, fake_hub, tmp_path, monkeypatch):
    write_lock(tmp_path / "models.lock", publish(fake_hub, "tiny", {"model.onnx": payload(300)}))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert invoke(capsys, "--download-models").exit_code == 0


def test_the_nearest_manifest_wins(capsys, tmp_path, monkeypatch):
    (tmp_path / "models.toml").write_text('[models.outer]\nrepo = "org/outer"\n')
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "models.toml").write_text("[models.inner]\nrepo = 'bad repo'\n")
    monkeypatch.chdir(tmp_path / "inner")
    result = invoke(capsys, "models", "lock", "--check")
    assert result.exit_code == 2 and result.error_lines[0].startswith("error: models.toml:2:")


def test_status_in_an_empty_directory_suggests_starting_a_project(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "models", "status")
    assert result.exit_code == 2
    assert result.error_lines == [f"error: no models.toml or models.lock in {tmp_path} or its parent directories"]
    assert f"hint: {START}" in result.stderr and "models lock" not in result.stderr


def test_lock_without_a_manifest_names_where_the_search_began(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (("models", "lock"), ("models", "lock", "--check"), ("models", "remove", "x")):
        result = invoke(capsys, *argv)
        assert result.exit_code == 2
        assert result.error_lines == [f"error: models.toml: file not found in {tmp_path} or its parent directories"]
        assert f"hint: {START}" in result.stderr


def test_the_commands_that_analyse_name_where_the_search_began(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"")
    for argv in (("analyze", "a.mp4"), ("analyze", "a.mp4", "b.mp4"), ("censor", "a.mp4", "-o", "out.mp4")):
        result = invoke(capsys, *argv)
        assert result.exit_code == 2
        assert result.error_lines == [f"error: models.toml: file not found in {tmp_path} or its parent directories"]
        assert f"hint: {START}" in result.stderr


def test_an_explicit_manifest_takes_its_lock_from_beside_it(capsys, fake_hub, tmp_path, monkeypatch):
    publish(fake_hub, "tiny", {"model.onnx": payload(300)})
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "models.toml").write_text('[models.tiny]\nrepo = "org/tiny"\n')
    monkeypatch.chdir(tmp_path)
    assert invoke(capsys, "models", "--manifest", "ci/models.toml", "lock").exit_code == 0
    assert (tmp_path / "ci" / "models.lock").exists() and not (tmp_path / "models.lock").exists()
    assert invoke(capsys, "--manifest", "ci/models.toml", "models", "lock", "--check").exit_code == 0


def test_no_hint_points_at_a_file_of_the_source_tree():
    """A pip-installed user has no docs/ directory: hints name commands or --help instead."""
    package = Path(__file__).parents[1] / "src" / "video_censor_personal"
    offenders = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {id(scope.body[0].value) for scope in ast.walk(tree)
                      if isinstance(scope, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and scope.body and isinstance(scope.body[0], ast.Expr)}
        offenders += [f"{path.name}:{node.lineno}: {node.value[:60]}" for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str)
                      and re.search(r"\bdocs/\S+\.md", node.value) and id(node) not in docstrings]
    assert offenders == []
