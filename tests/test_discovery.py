"""`models search` and the 24 h cache of Hub metadata answers, against the fake Hub.

The clock is frozen and moved with pytest-mock (`discovery.now`); whether the Hub was asked
is read from the fake Hub's request log.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.fakehub import LFS, Fault
from video_censor_personal.discovery import TTL_SECONDS, describe_age

T0 = 1_780_000_000.0
TASK = "image-classification"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no models.toml: search needs none
    return tmp_path


@pytest.fixture
def clock(mocker):
    """The discovery clock, frozen at T0; set `clock.return_value` to move it."""
    return mocker.patch("video_censor_personal.discovery.now", return_value=T0)


@pytest.fixture
def catalogue(fake_hub):
    """Four detectors of two tasks and libraries, and one unrelated model."""
    for repo_id, task, library, downloads in [
        ("org/nsfw-detector", TASK, "onnx", 900),
        ("org/nsfw-detector-large", TASK, "transformers", 5000),
        ("acme/nsfw-detector-tiny", TASK, "onnx", 40),
        ("acme/nsfw-detector-audio", "audio-classification", "onnx", 120),
        ("org/llm", "text-generation", "transformers", 10**6),
    ]:
        fake_hub.create_repo(repo_id, pipeline_tag=task, library_name=library, downloads=downloads,
                             likes=downloads // 10).commit({"model.onnx": LFS(repo_id.encode())})
    return fake_hub


def searches(hub) -> int:
    return hub.count(origin="hub", method="GET", path_contains="/api/models")


def search_json(capsys, *args: str) -> list[dict]:
    result = invoke(capsys, "models", "search", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def cache_dir() -> Path:
    return Path(os.environ["VIDEO_CENSOR_CACHE"]) / "hub-metadata-v1"


# ---------------------------------------------------------------- what search shows


def test_search_json_is_the_documented_list_most_downloaded_first(catalogue, project, capsys, clock):
    found = search_json(capsys, "nsfw-detector")
    assert [m["id"] for m in found] == ["org/nsfw-detector-large", "org/nsfw-detector", "acme/nsfw-detector-audio",
                                        "acme/nsfw-detector-tiny"]
    assert set(found[0]) == {"id", "downloads", "likes", "pipeline_tag", "library_name", "last_modified"}
    assert found[0]["downloads"] == 5000 and found[0]["likes"] == 500
    assert (found[0]["pipeline_tag"], found[0]["library_name"]) == (TASK, "transformers")
    assert found[0]["last_modified"].endswith("Z")


def test_search_filters_by_task_library_and_limit(catalogue, project, capsys, clock):
    assert [m["id"] for m in search_json(capsys, "nsfw", "--task", TASK, "--library", "onnx")] == [
        "org/nsfw-detector", "acme/nsfw-detector-tiny"]
    assert [m["id"] for m in search_json(capsys, "nsfw", "--limit", "1")] == ["org/nsfw-detector-large"]


def test_search_prints_a_readable_table(catalogue, project, capsys, clock):
    result = invoke(capsys, "models", "search", "acme")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "DOWNLOADS", "LIKES", "TASK", "LIBRARY", "MODIFIED"]
    assert lines[1].split()[:5] == ["acme/nsfw-detector-audio", "120", "12", "audio-classification", "onnx"]
    assert len(lines) == 3


def test_search_with_no_match_says_so(catalogue, project, capsys, clock):
    result = invoke(capsys, "models", "search", "no-such-thing")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no models found for 'no-such-thing'" in result.stderr


# ---------------------------------------------------------------- the cache


def test_a_second_search_is_served_from_the_cache(catalogue, project, capsys, clock):
    first = search_json(capsys, "nsfw")
    asked = searches(catalogue)
    assert asked >= 1
    assert search_json(capsys, "nsfw") == first
    assert searches(catalogue) == asked  # no request at all
    assert search_json(capsys, "nsfw", "--task", TASK) != first  # another question is asked
    assert searches(catalogue) == asked + 1


def test_answers_expire_after_24_hours(catalogue, project, capsys, clock):
    search_json(capsys, "nsfw")
    catalogue.repo("acme/nsfw-detector-tiny").downloads = 10**7
    clock.return_value = T0 + TTL_SECONDS - 1
    assert search_json(capsys, "nsfw")[0]["id"] == "org/nsfw-detector-large"  # still cached
    assert searches(catalogue) == 1
    clock.return_value = T0 + TTL_SECONDS + 1
    assert search_json(capsys, "nsfw")[0]["id"] == "acme/nsfw-detector-tiny"  # asked again
    assert searches(catalogue) == 2


def test_refresh_bypasses_a_fresh_answer(catalogue, project, capsys, clock):
    search_json(capsys, "nsfw")
    catalogue.repo("acme/nsfw-detector-tiny").downloads = 10**7
    assert search_json(capsys, "nsfw", "--refresh")[0]["id"] == "acme/nsfw-detector-tiny"
    assert searches(catalogue) == 2
    assert search_json(capsys, "nsfw")[0]["id"] == "acme/nsfw-detector-tiny"  # the refreshed answer is kept
    assert searches(catalogue) == 2


@pytest.mark.parametrize("offline", [["--offline"], []])
def test_offline_a_stale_answer_is_used_with_a_note_of_its_age(catalogue, project, capsys, clock, monkeypatch,
                                                               offline):
    first = search_json(capsys, "nsfw")
    clock.return_value = T0 + 3 * 86400
    if not offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = invoke(capsys, *offline, "models", "search", "nsfw", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == first
    assert "note: offline: using the search 'nsfw' answer cached 3 days ago" in result.stderr
    assert searches(catalogue) == 1


def test_offline_without_a_cached_answer_exits_3(catalogue, project, capsys, clock):
    result = invoke(capsys, "--offline", "models", "search", "nsfw")
    assert result.exit_code == 3
    assert result.error_lines == ["error: offline mode: no cached answer for the search 'nsfw'"]
    assert searches(catalogue) == 0


def test_an_unreachable_hub_falls_back_to_a_stale_answer(catalogue, project, capsys, clock):
    first = search_json(capsys, "nsfw")
    clock.return_value = T0 + 2 * 86400
    catalogue.add_fault(Fault("status", origin="hub", path="/api/models", times=None, status=503))
    result = invoke(capsys, "models", "search", "nsfw", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == first
    assert "the Hub did not answer" in result.stderr and "cached 2 days ago" in result.stderr
    result = invoke(capsys, "models", "search", "other")  # nothing cached for this one
    assert result.exit_code == 3 and result.error_lines


def test_a_broken_cache_entry_is_asked_again_and_no_temp_file_is_left(catalogue, project, capsys, clock):
    first = search_json(capsys, "nsfw")
    [entry] = cache_dir().iterdir()
    entry.write_text('{"format": 1, "stored_at": ', encoding="utf-8")  # a torn write from elsewhere
    assert search_json(capsys, "nsfw") == first
    assert searches(catalogue) == 2
    assert [p.name for p in cache_dir().iterdir()] == [entry.name]
    assert json.loads(entry.read_text())["stored_at"] == T0


def test_answers_of_another_hub_are_not_reused(catalogue, project, capsys, clock, monkeypatch):
    search_json(capsys, "nsfw")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # refuses connections
    assert invoke(capsys, "models", "search", "nsfw").exit_code == 3


def test_ages_read_like_a_person_says_them():
    assert [describe_age(s) for s in (5, 720, 3 * 3600, 3 * 3600 + 1200, 5 * 86400)] == [
        "5 s", "12 min", "3 h", "3 h 20 min", "5 days"]
