"""models.toml: every bad input is one clear `error:` line naming file and line, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.clirun import invoke
from video_censor_personal.config import load_manifest, manifest_hash

GOOD = """\
# our models
[settings]
timeout = 30

[models.nsfw]
repo = "org/nsfw"           # the classifier
include = ["onnx/*.onnx", "*.json"]
description = "frames"

[models.nsfw.analysis]
kind = "image-classifier"
file = "onnx/model.onnx"
flag = ["nsfw"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[models.a]\nrepo = "org/a"\nrevision = \n', 3, "TOML syntax error"),
        ('[models.a]\nrepo = "org/a"\nrevison = "main"\n', 3, "unknown key 'revison'"),
        ('[settings]\njobs = 4\n\n[models.a]\ndescription = "x"\n', 4, "has no repo"),
        ('[models.Bad_Name]\nrepo = "org/a"\n', 1, "bad model name"),
        ('[models.a]\nrepo = "org/a"\nrevision = "feature..x"\n', 3, "revision 'feature..x' is malformed"),
        ('[models.a]\nrepo = "not-a-repo-id"\n', 2, "repo must look like"),
        ('[models.a]\nrepo = "org/a"\ninclude = 3\n', 3, "include must be a list"),
        ('[models.a]\nrepo = "org/a"\ninclude = ["/abs/*"]\n', 3, "is malformed"),
        ('[settings]\ntimeout = "slow"\n', 2, "timeout must be a positive number"),
        ('[settings]\njobs = 0\n', 2, "jobs must be an integer >= 1"),
        ('[settings]\nretries = -1\n', 2, "retries must be an integer >= 0"),
        ('[settings]\nendpoint = "ftp://x"\n', 2, "endpoint must be an http(s) URL"),
        ('[models.a]\nrepo = "org/a"\n[models.a.analysis]\nkind = "audio"\nfile = "m.onnx"\nflag = ["x"]\n',
         4, "analysis kind"),
        ('[models.a]\nrepo = "org/a"\n[models.a.analysis]\nkind = "image-classifier"\nfile = "m"\n'
         'flag = ["x"]\nthreshold = 2\n', 7, "threshold"),
        # issue 10: a bare string is no one-pattern list (it silently changed the selection)
        ('[models.a]\nrepo = "org/a"\ninclude = "model.onnx"\n', 3, "include must be a list of glob patterns"),
        ('[models.a]\nrepo = "org/a"\nexclude = "*.bin"\n', 3, "exclude must be a list of glob patterns"),
        # an empty revision is a manifest error, found before any request
        ('[models.a]\nrepo = "org/a"\nrevision = ""\n', 3, "revision must not be empty"),
        # an unknown top-level table is reported at its own line, not at line 1
        ('# my models\n[setings]\njobs = 2\n', 2, "unknown key 'setings'"),
        ('# c\n\n[models.a]\nrepo = "org/a"\n[setings.x]\n', 5, "unknown key 'setings'"),
        # a duplicate key or table is a TOML syntax error with its line (was "unexpected KeyAlreadyPresent")
        ('[models.a]\nrepo = "org/a"\nrepo = "org/b"\n', 3, "TOML syntax error"),
        ('[models.a]\nrepo = "org/a"\n\n[models.a]\nrepo = "org/b"\n', 4, "TOML syntax error"),
        ('[models.a]\rrepo = "org/a"\rrepo = "org/b"\r', 3, "TOML syntax error"),  # old Mac line ends
        ('[models.a]\nrepo = "org/a"\r\nrepo = "x"\rrevision = "v"\n', 3, "TOML syntax error"),
        # DESIGN "Values"
        ('[settings]\ntimeout = 0\n', 2, "timeout must be a positive number"),
        ('[settings]\ntimeout = inf\n', 2, "timeout must be a positive number"),
        ('[settings]\nretries = 1.5\n', 2, "retries must be an integer >= 0"),
        ('[settings]\njobs = true\n', 2, "jobs must be an integer >= 1"),
        ('[settings]\nmirrors = ["/srv/export"]\n', 2, "mirrors entry '/srv/export' is not an http(s)://"),
        ('[settings]\nmirrors = "file:///srv"\n', 2, "mirrors must be a list of URL strings"),
        ('[settings]\nendpoint = "127.0.0.1:8000"\n', 2, "endpoint must be an http(s) URL"),
        ('[models]\na = 3\n', 2, "[models.a] must be a table"),
        ('[models."a\\n"]\nrepo = "org/a"\n', 1, "bad model name"),
        ('[models.a]\nrepo = "org/a"\ndescription = 3\n', 3, "description must be a string"),
        ('[models.a]\nrepo = "org/a"\nanalysis = 3\n', 3, "analysis must be a table"),
        ('[models.a]\nrepo = "org/a"\n[models.a.analysis]\nfile = "m.onnx"\nflag = ["x"]\n', 3,
         "analysis needs kind"),
        ('[models.a]\nrepo = "org/a"\n[models.a.analysis]\nkind = "image-classifier"\nfile = "m"\n'
         'flag = "x"\n', 6, "flag must be a list of strings"),
        ('[models.a]\nrepo = "org/a"\n[models.a.analysis]\nkind = "image-classifier"\nfile = "m"\n'
         'flag = ["x"]\nmean = [1, 2]\n', 7, "mean must be a list of 3 numbers"),
    ],
)
def test_bad_manifest_names_file_and_line_and_exits_2(tmp_path, monkeypatch, capsys, text, line, words):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, text)
    result = invoke(capsys, "models", "lock", "--check")
    assert result.exit_code == 2
    assert result.error_lines and result.error_lines[0].startswith(f"error: models.toml:{line}: ")
    assert words in result.error_lines[0]
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2
    assert not (tmp_path / "models.lock").exists()


def test_missing_manifest_is_exit_2_with_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2
    assert "models.toml: file not found" in result.error_lines[0]
    assert "hint:" in result.stderr


def test_defaults_are_filled(tmp_path):
    manifest = load_manifest(write(tmp_path, '[models.a]\nrepo = "org/a"\n'))
    model = manifest.model("a")
    assert (model.revision, model.include, model.exclude) == ("main", ("*",), ())


def test_manifest_hash_ignores_comments_layout_description_analysis_and_settings(tmp_path):
    base = manifest_hash(load_manifest(write(tmp_path, GOOD)))
    cosmetic = GOOD.replace("# the classifier", "").replace('"frames"', '"other"').replace("30", "99")
    cosmetic = cosmetic.replace('flag = ["nsfw"]', 'flag = ["porn"]') + "\n# trailing comment\n"
    assert manifest_hash(load_manifest(write(tmp_path, cosmetic))) == base


@pytest.mark.parametrize("change", [('"org/nsfw"', '"org/other"'), ('"*.json"', '"*.txt"'),
                                    ("description", 'revision = "v2"\ndescription')])
def test_manifest_hash_changes_with_what_resolution_depends_on(tmp_path, change):
    base = manifest_hash(load_manifest(write(tmp_path, GOOD)))
    assert manifest_hash(load_manifest(write(tmp_path, GOOD.replace(*change)))) != base


def test_hugging_face_glob_semantics(tmp_path):
    model = load_manifest(write(tmp_path, '[models.a]\nrepo = "o/a"\ninclude = ["*.onnx", "tok/"]\n'
                                          'exclude = ["*_fp16.onnx"]\n')).model("a")
    assert model.selects("onnx/deep/model.onnx")  # * crosses /
    assert model.selects("tok/vocab.txt")  # a trailing / means the whole folder
    assert not model.selects("onnx/model_fp16.onnx")
    assert not model.selects("config.json")


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Windows editors write one; it used to end in "Empty key at line 1 col 0"."""
    path = tmp_path / "models.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load_manifest(path).model("nsfw").include == ("onnx/*.onnx", "*.json")


def test_lines_are_counted_after_a_byte_order_mark(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_bytes(b'\xef\xbb\xbf[models.a]\nrepo = "org/a"\nrevison = "v"\n')
    result = invoke(capsys, "models", "lock", "--check")
    assert (result.exit_code, result.error_lines[0][:23]) == (2, "error: models.toml:3: u")


def test_an_empty_manifest_is_valid_and_has_no_models(tmp_path):
    assert load_manifest(write(tmp_path, "# nothing yet\n")).models == ()


def test_a_lone_carriage_return_in_text_names_its_line(tmp_path):
    """Text that did not come through universal-newline reading (edits) still gets a line."""
    from video_censor_personal.config import parse_manifest
    from video_censor_personal.errors import ManifestError

    with pytest.raises(ManifestError, match=r"models.toml:3: TOML syntax error: line ends must be LF or CRLF"):
        parse_manifest('[models.a]\r\nrepo = "org/a"\n# x\rrevision = "v"\n', tmp_path / "models.toml")


def test_models_add_refuses_an_empty_revision_before_the_hub(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: it must not be asked
    result = invoke(capsys, "models", "add", "x", "org/x", "--revision", "")
    assert result.exit_code == 2 and "revision" in result.error_lines[0]
    assert "retrying" not in result.stderr and not (tmp_path / "models.toml").exists()


def test_a_tomlkit_error_met_while_editing_is_a_manifest_error():
    """The edits use tomlkit; its exceptions are none of ours, but never "unexpected"."""
    from tomlkit.exceptions import KeyAlreadyPresent

    from video_censor_personal.cli import _known_error

    error = _known_error(KeyAlreadyPresent("repo"))
    assert (error.exit_code, error.message) == (2, 'models.toml: TOML error: Key "repo" already exists.')
