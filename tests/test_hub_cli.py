"""`models outdated` and the shape of the Hub commands, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.clirun import invoke
from tests.fakehub import LFS

MANIFEST = """\
[models.current]
repo = "org/current"

[models.behind]
repo = "org/behind"

[models.chained]
repo = "org/net-v1"

[models.moved]
repo = "old/moved"
"""


@pytest.fixture
def locked(fake_hub, tmp_path, monkeypatch, capsys):
    """Four models locked; then the Hub moves on: a new commit, a successor chain, a rename."""
    for repo_id in ("org/current", "org/behind", "org/net-v1", "old/moved"):
        fake_hub.create_repo(repo_id).commit({"model.onnx": LFS(repo_id.encode() * 8)})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text(MANIFEST)
    assert invoke(capsys, "models", "lock").exit_code == 0
    fake_hub.repo("org/behind").commit_update({"model.onnx": LFS(b"newer" * 8)})
    fake_hub.repo("org/net-v1").card = {"new_version": "org/net-v2"}
    fake_hub.create_repo("org/net-v2", card={"new_version": "org/net-v3"}).commit({"m.onnx": LFS(b"2")})
    fake_hub.create_repo("org/net-v3", card={"new_version": "org/net-v1"}).commit({"m.onnx": LFS(b"3")})
    fake_hub.rename("old/moved", "new/moved")
    return fake_hub


def rows(stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in stdout.splitlines()[1:]}


def test_outdated_table_shows_newer_commits_successors_and_renames(locked, capsys):
    result = invoke(capsys, "models", "outdated")
    assert result.exit_code == 0, result.stderr
    table = rows(result.stdout)
    behind = locked.repo("org/behind")
    assert table["behind"][:5] == ["behind", "main", behind.history(behind.resolve("main"))[1].sha[:7],
                                   behind.head()[:7], "(newer)"]
    assert table["current"][4:] == ["(up", "to", "date)", "-", "-"]
    assert table["chained"][-2:] == ["org/net-v3", "-"]  # v1 -> v2 -> v3 -> v1: the last new one
    assert " ".join(table["moved"]).endswith("renamed to new/moved")


def test_outdated_json_has_one_object_per_locked_model(locked, capsys):
    result = invoke(capsys, "models", "outdated", "--json")
    assert result.exit_code == 0
    found = {row["name"]: row for row in json.loads(result.stdout)}
    assert sorted(found) == ["behind", "chained", "current", "moved"]
    assert found["behind"]["newer_commit"] is True
    assert found["behind"]["newest_commit"] == locked.repo("org/behind").head()
    assert found["current"]["newer_commit"] is False and found["current"]["successor"] is None
    assert found["chained"]["successor_chain"] == ["org/net-v2", "org/net-v3"]
    assert found["chained"]["successor"] == "org/net-v3"
    assert found["moved"]["renamed_to"] == "new/moved"


def test_outdated_reports_a_repo_the_hub_refuses_and_still_exits_0(locked, capsys):
    locked.repo("org/current").disabled = True
    result = invoke(capsys, "models", "outdated", "--json")
    assert result.exit_code == 0, result.stderr
    current = next(row for row in json.loads(result.stdout) if row["name"] == "current")
    assert "disabled" in current["problem"] and current["newest_commit"] is None


def test_outdated_needs_a_lock_and_the_network(locked, capsys, tmp_path):
    assert invoke(capsys, "--offline", "models", "outdated").exit_code == 3
    (tmp_path / "models.lock").unlink()
    result = invoke(capsys, "models", "outdated")
    assert result.exit_code == 2 and "models lock" in result.stderr


def test_hub_commands_do_not_import_huggingface_hub_for_help():
    script = (
        "import sys\n"
        "from video_censor_personal.cli import main\n"
        "for argv in (['--help'], ['models', 'search', '--help'], ['models', 'outdated', '--help'],\n"
        "             ['models', 'add', '--help'], ['models', 'remove', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code == 0, argv\n"
        "print('huggingface_hub' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
    for option in ("--task", "--library", "--limit", "--json", "--refresh"):
        assert option in done.stdout
