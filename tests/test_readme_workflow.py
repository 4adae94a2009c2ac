"""The README's "Daily workflow", run as written against the fake Hub: search, add (with its
analysis table), lock, download and analyse, ending in a report that flags the bright part.

The commands are read from README.md itself, so the README cannot drift from what works.
`git` lines are skipped (no repository here); everything else must be a video-censor command.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.clirun import invoke
from tests.fakehub import LFS
from tests.media import make_clip
from tests.tiny_models import config_json, preprocessor_json, tiny_classifier
from video_censor_personal.lockfile import read_lockfile

README = Path(__file__).parents[1] / "README.md"


def daily_workflow_commands() -> list[list[str]]:
    section = README.read_text().split("## Daily workflow", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] != "git":
            assert words[0] == "video-censor", line
            commands.append(words[1:])
    return commands


def publish_the_readme_model(hub) -> None:
    """The README's repo on the fake Hub: the tiny classifier where the real one has its model,
    a quantized variant that `add` must leave out, and the two JSON files analyze reads."""
    repo = hub.create_repo("onnx-community/nsfw_image_detection-ONNX", pipeline_tag="image-classification",
                           library_name="onnx", downloads=1000)
    repo.commit({"onnx/model.onnx": LFS(tiny_classifier()), "onnx/model_quantized.onnx": LFS(b"q" * 500),
                 "config.json": config_json(), "preprocessor_config.json": preprocessor_json(32),
                 "README.md": b"# nsfw\n"})


def test_the_readme_daily_workflow_works_as_written(fake_hub, tmp_path, monkeypatch, capsys):
    publish_the_readme_model(fake_hub)
    monkeypatch.chdir(tmp_path)
    make_clip(tmp_path / "movie.mp4")
    commands = daily_workflow_commands()
    assert [c[:2] for c in commands] == [["models", "search"], ["models", "add"], ["models", "lock"],
                                         ["--download-models", "analyze"]]
    for argv in commands:
        result = invoke(capsys, *argv)
        assert result.exit_code == 0, f"video-censor {shlex.join(argv)}\n{result.stderr}"
    locked = read_lockfile(tmp_path / "models.lock").model("nsfw")
    assert [f.path for f in locked.files] == ["config.json", "onnx/model.onnx", "preprocessor_config.json"]
    report = json.loads((tmp_path / "report.json").read_text())
    [segment] = report["segments"]
    assert (segment["model"], segment["label"]) == ("nsfw", "nsfw") and 1.5 <= segment["start"] <= 2.5


def test_add_with_kind_keeps_an_explicit_include_and_adds_what_analyze_reads(fake_hub, tmp_path, monkeypatch,
                                                                            capsys):
    publish_the_readme_model(fake_hub)
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "models", "add", "nsfw", "onnx-community/nsfw_image_detection-ONNX",
                    "--include", "onnx/*.onnx", "--exclude", "*quantized*", "--description", "frames",
                    "--kind", "image-classifier", "--file", "onnx/model.onnx", "--flag", "nsfw")
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "models.toml").read_text()
    assert 'include = ["onnx/*.onnx", "config.json", "preprocessor_config.json"]' in text
    assert 'exclude = ["*quantized*"]' in text and 'description = "frames"' in text
    assert '[models.nsfw.analysis]\nkind = "image-classifier"\nfile = "onnx/model.onnx"\nflag = ["nsfw"]\n' in text
    paths = [f.path for f in read_lockfile(tmp_path / "models.lock").model("nsfw").files]
    assert paths == ["config.json", "onnx/model.onnx", "preprocessor_config.json"]


def test_a_flag_label_the_model_lacks_is_refused_at_add_naming_its_labels(fake_hub, tmp_path, monkeypatch,
                                                                           capsys):
    """Else `analyze` would be the first to say so (exit 2), against "analyze works right after"."""
    publish_the_readme_model(fake_hub)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text("# ours\n")
    result = invoke(capsys, "models", "add", "nsfw", "onnx-community/nsfw_image_detection-ONNX",
                    "--kind", "image-classifier", "--file", "onnx/model.onnx", "--flag", "nsfw", "--flag", "porn")
    assert result.exit_code == 2
    assert result.error_lines == ["error: onnx-community/nsfw_image_detection-ONNX has no label 'porn' for --flag"]
    assert "hint: its labels (config.json id2label): normal, nsfw" in result.stderr
    assert (tmp_path / "models.toml").read_text() == "# ours\n" and not (tmp_path / "models.lock").exists()


def test_half_an_analysis_table_is_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    no_kind = invoke(capsys, "models", "add", "x", "org/x", "--flag", "nsfw")
    assert no_kind.exit_code == 2 and "add --kind KIND" in no_kind.error_lines[0]
    no_file = invoke(capsys, "models", "add", "x", "org/x", "--kind", "image-classifier", "--flag", "nsfw")
    assert no_file.exit_code == 2 and "needs --file" in no_file.error_lines[0]
    assert not (tmp_path / "models.toml").exists()


def test_a_file_the_repo_lacks_is_refused_naming_its_onnx_files(fake_hub, tmp_path, monkeypatch, capsys):
    publish_the_readme_model(fake_hub)
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "models", "add", "nsfw", "onnx-community/nsfw_image_detection-ONNX",
                    "--kind", "image-classifier", "--file", "model.onnx", "--flag", "nsfw")
    assert result.exit_code == 2
    assert result.error_lines == ["error: onnx-community/nsfw_image_detection-ONNX has no file 'model.onnx' for --file"]
    assert "hint: its ONNX files: onnx/model.onnx, onnx/model_quantized.onnx" in result.stderr
    assert not (tmp_path / "models.toml").exists()
