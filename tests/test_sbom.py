"""`models sbom [-o FILE]`: a CycloneDX 1.6 bill of materials of the lock.

Every document is checked by cyclonedx-python-lib's own JSON-schema validator (strict, 1.6),
and the validator is shown to refuse a broken one, so a pass means something.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from tests.clirun import invoke
from tests.download_support import write_lock
from video_censor_personal.lockfile import LockedFile, LockedModel

COMMIT = "1ceb3c7fe1e9f3f2507e6df577437f23a9149fd5"
NSFW = LockedModel(
    "nsfw-classifier", "onnx-community/nsfw_image_detection-ONNX", "main", ("onnx/model.onnx", "*.json"), (),
    COMMIT, (
        LockedFile("config.json", f"https://huggingface.co/onnx-community/nsfw_image_detection-ONNX/resolve/"
                   f"{COMMIT}/config.json", 812, "b" * 64),
        LockedFile("onnx/model.onnx", f"https://huggingface.co/onnx-community/nsfw_image_detection-ONNX/resolve/"
                   f"{COMMIT}/onnx/model.onnx", 343401688,
                   "a4316a4fb750169ac4fcabaabee1fcbd982b0ee8c0cc63fe3e944954bb9a7d9c"),
    ))
WHISPER = replace(NSFW, name="whisper", repo="Xenova/whisper-tiny", revision="v1.0", include=("*",),
                  commit="5332fcc35e32a33b86612b9a57a89be7906102b1", files=(
                      LockedFile("tokenizer.json", "https://huggingface.co/Xenova/whisper-tiny/resolve/"
                                 "5332fcc35e32a33b86612b9a57a89be7906102b1/tokenizer.json", 2480466,
                                 "27fc476bfe7f17299480be2273fc0608e4d5a99aba2ab5dec5374b4482d1a566"),))


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_lock(tmp_path / "models.lock", NSFW, WHISPER)
    return tmp_path


def validation_errors(text: str) -> list[str]:
    """cyclonedx-python-lib's strict JSON-schema validator for CycloneDX 1.6."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    return [str(error) for error in errors or ()]


def sbom(capsys, *flags: str) -> str:
    result = invoke(capsys, "models", "sbom", *flags)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def properties(component: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_one_valid_machine_learning_model_component_per_locked_model(capsys, project):
    text = sbom(capsys)
    assert validation_errors(text) == []
    document = json.loads(text)
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.6")
    assert document["metadata"]["tools"]["components"] == [
        {"name": "video-censor", "type": "application", "version": "0.1.0"}]
    models = {properties(c)["video-censor:model"]: c for c in document["components"]}
    assert set(models) == {"nsfw-classifier", "whisper"}
    nsfw = models["nsfw-classifier"]
    assert nsfw["type"] == "machine-learning-model"
    assert nsfw["purl"] == f"pkg:huggingface/onnx-community/nsfw_image_detection-ONNX@{COMMIT}"
    assert (nsfw["group"], nsfw["name"], nsfw["version"]) == ("onnx-community", "nsfw_image_detection-ONNX", COMMIT)
    assert properties(nsfw)["video-censor:revision"] == "main"
    assert json.loads(properties(nsfw)["video-censor:include"]) == ["onnx/model.onnx", "*.json"]
    assert properties(models["whisper"])["video-censor:revision"] == "v1.0"
    files = {f["name"]: f for f in nsfw["components"]}
    for locked in NSFW.files:
        assert files[locked.path]["type"] == "file"
        assert files[locked.path]["hashes"] == [{"alg": "SHA-256", "content": locked.sha256}]
        assert properties(files[locked.path])["video-censor:size"] == str(locked.size)
        assert files[locked.path]["externalReferences"] == [{"type": "distribution", "url": locked.url}]


def test_output_is_deterministic_and_o_writes_the_same_bytes(capsys, project):
    first, second = sbom(capsys), sbom(capsys)
    assert first == second
    assert "timestamp" not in first and "serialNumber" not in first
    result = invoke(capsys, "models", "sbom", "-o", "sbom.cdx.json")
    assert result.exit_code == 0 and result.stdout == ""
    assert (project / "sbom.cdx.json").read_text() == first


def test_timestamp_and_serial_number_only_when_asked(capsys, project):
    text = sbom(capsys, "--timestamp", "--serial-number")
    assert validation_errors(text) == []
    document = json.loads(text)
    assert document["serialNumber"].startswith("urn:uuid:") and document["metadata"]["timestamp"]
    assert json.loads(sbom(capsys, "--serial-number"))["serialNumber"] != document["serialNumber"]


def test_the_validator_refuses_a_broken_document(capsys, project):
    document = json.loads(sbom(capsys))
    document["components"][0]["components"][0]["hashes"][0]["content"] = "not-a-hash"
    document["components"][0]["type"] = "ml-model"
    assert len(validation_errors(json.dumps(document))) == 2


def test_a_model_without_files_and_an_empty_lock_are_valid(capsys, project):
    write_lock(project / "models.lock", replace(NSFW, files=()))
    assert validation_errors(sbom(capsys)) == []
    write_lock(project / "models.lock")
    text = sbom(capsys)
    assert validation_errors(text) == [] and "components" not in json.loads(text)


def test_without_a_lock_exits_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "models", "sbom")
    assert result.exit_code == 2 and result.error_lines[0].startswith(
        f"error: no models.toml or models.lock in {tmp_path}"
    )


def test_without_the_sbom_extra_the_error_names_it(capsys, project, mocker):
    mocker.patch("importlib.util.find_spec", return_value=None)  # as if cyclonedx-python-lib were not installed
    result = invoke(capsys, "models", "sbom")
    assert result.exit_code == 2 and "needs cyclonedx-python-lib" in result.error_lines[0]
    assert "pip install 'video-censor-personal[sbom]'" in result.stderr


def test_help_does_not_import_cyclonedx():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "video_censor_personal", "models", "--help"],
                          capture_output=True, text=True, timeout=60)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert done.returncode == 0 and "sbom" in done.stdout
    assert imported & {"cyclonedx", "packageurl", "huggingface_hub", "filelock"} == set()
