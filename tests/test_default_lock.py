"""The committed models.lock is exactly what `video-censor models lock` produces."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.clirun import invoke
from tests.hub_records import NSFW_COMMIT, record_default_models
from video_censor_personal.config import load_manifest

ROOT = Path(__file__).resolve().parents[1]


def test_committed_lock_is_what_the_tool_produces(fake_hub, tmp_path, monkeypatch, capsys):
    record_default_models(fake_hub)
    shutil.copy(ROOT / "models.toml", tmp_path / "models.toml")
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    produced = (tmp_path / "models.lock").read_text().replace(fake_hub.url, "https://huggingface.co")
    assert produced == (ROOT / "models.lock").read_text()
    assert NSFW_COMMIT in produced


def test_committed_lock_matches_the_committed_manifest(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert invoke(capsys, "models", "lock", "--check").exit_code == 0
    assert load_manifest(ROOT / "models.toml").model("nsfw-classifier").analysis.flag == ("nsfw",)
