"""`video-censor analyze VIDEO... -o DIR`: a library in one command, in this process (--jobs 1).

What a user sees: which files are taken for videos, what each report is called, that each
report is what `analyze VIDEO` alone writes, that a bad video fails alone, and that a
second run skips what is done.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from tests.clirun import invoke
from tests.library_support import clip_bytes, make_library, reports_in, segment_of
from tests.media import make_audio_only, make_not_a_video
from tests.tiny_project import make_project
from video_censor_personal.library.discover import Video, find_videos
from video_censor_personal.library.naming import report_names
from video_censor_personal.library.resume import STATE_NAME


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two different clips: bright at 0.5-1 s, and at 1-1.5 s."""
    directory = tmp_path_factory.mktemp("clips")
    return clip_bytes(directory, (0.5, 1.0)), clip_bytes(directory, (1.0, 1.5))


@pytest.fixture
def project(tmp_path, fake_hub, monkeypatch):
    make_project(tmp_path, fake_hub)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- which files are videos


def test_a_folder_is_searched_by_probing_not_only_by_extension(tmp_path, clips):
    early, _ = clips
    make_library(tmp_path / "lib", {"a.mp4": early, "sub/no-extension": early, "sub/deeper/b.MKV": early,
                                    ".hidden.mp4": early, ".cache/c.mp4": early, "d.mp4.part": early,
                                    "e.mp4.crdownload": early, "notes.txt": b"not a video\n"})
    make_audio_only(tmp_path / "lib" / "song.m4a")
    make_not_a_video(tmp_path / "lib" / "subs.srt")
    found = find_videos([tmp_path / "lib"])
    assert [str(v.relative) for v in found.videos] == ["a.mp4", "sub/deeper/b.MKV", "sub/no-extension"]
    assert found.problems == []


def test_a_damaged_file_with_a_video_extension_is_kept_so_that_it_is_reported(tmp_path):
    (tmp_path / "cut.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    (tmp_path / "cut.bin").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    assert [v.relative.name for v in find_videos([tmp_path]).videos] == ["cut.mp4"]


def test_files_named_are_taken_as_they_are_and_each_file_once(tmp_path, clips):
    make_library(tmp_path, {".hidden.mp4": clips[0], "lib/a.mp4": clips[0]})
    found = find_videos([tmp_path / ".hidden.mp4", tmp_path / "lib", tmp_path / "lib" / "a.mp4",
                         tmp_path / "missing.mp4"])
    assert [v.path for v in found.videos] == [tmp_path / ".hidden.mp4", tmp_path / "lib" / "a.mp4"]
    [(shown, error)] = found.problems
    assert shown == str(tmp_path / "missing.mp4") and error.message.endswith("missing.mp4: file not found")


# ---------------------------------------------------------------- report names


def _video(path: str, relative: str | None = None) -> Video:
    return Video(Path(path), PurePosixPath(relative or Path(path).name))


def test_report_names_are_file_names_and_clashes_get_the_path_inside_the_folder_given():
    videos = [_video("tv/s1/clip.mp4", "s1/clip.mp4"), _video("tv/s2/clip.mp4", "s2/clip.mp4"),
              _video("tv/other.mkv", "other.mkv")]
    assert report_names(videos) == {videos[0]: "s1__clip.mp4.json", videos[1]: "s2__clip.mp4.json",
                                    videos[2]: "other.mkv.json"}
    assert report_names(reversed(videos)) == report_names(videos)  # the order given does not matter


def test_remaining_clashes_fall_back_to_the_path_given_then_a_number():
    videos = [_video("a/clip.mp4"), _video("b/clip.mp4"),  # two files named alone: same relative path
              _video("x/s1/Clip.mp4", "s1/Clip.mp4"), _video("y/s1/clip.mp4", "s1/clip.mp4"),  # differ in case
              _video("X/s1/clip.mp4", "s1/clip.mp4")]
    names = report_names(videos)
    assert [names[v] for v in videos] == ["a__clip.mp4.json", "b__clip.mp4.json", "x__s1__Clip.mp4~3.json",
                                          "y__s1__clip.mp4.json", "X__s1__clip.mp4~2.json"]
    assert len({name.casefold() for name in names.values()}) == len(videos)


# ---------------------------------------------------------------- end to end, in this process


def test_each_report_is_what_analyze_of_that_video_alone_writes(project, capsys, clips):
    make_library(project, {"lib/s1/clip.mp4": clips[0], "lib/s2/clip.mp4": clips[1], "lib/other.mp4": clips[1]})
    result = invoke(capsys, "--download-models", "analyze", "lib", "-o", "out", "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    reports = reports_in(project / "out")
    assert sorted(reports) == ["other.mp4.json", "s1__clip.mp4.json", "s2__clip.mp4.json"]
    for name, video in [("s1__clip.mp4.json", "lib/s1/clip.mp4"), ("other.mp4.json", "lib/other.mp4")]:
        alone = invoke(capsys, "analyze", video)
        assert alone.exit_code == 0 and reports[name] == alone.stdout.encode()
    assert segment_of(reports["s1__clip.mp4.json"]) != segment_of(reports["s2__clip.mp4.json"])
    assert "analysed 3 of 3 video(s), 0 failed, 0 skipped" in result.stderr
    assert "h of video in" in result.stderr and "x real time" in result.stderr


def test_one_bad_video_fails_alone_and_sets_the_exit_code(project, capsys, clips):
    make_library(project, {"lib/a.mp4": clips[0], "lib/b.mp4": clips[1]})
    make_not_a_video(project / "lib" / "broken.mp4")
    result = invoke(capsys, "--download-models", "analyze", "lib", "missing.mp4", "-o", "out", "-j", "1")
    assert result.exit_code == 2
    assert sorted(reports_in(project / "out")) == ["a.mp4.json", "b.mp4.json"]
    assert "error: cannot read video lib/broken.mp4: not a video file" in result.stderr
    assert "error: cannot read video missing.mp4: file not found" in result.stderr
    assert "analysed 2 of 4 video(s), 2 failed" in result.stderr
    assert result.error_lines[-1] == "error: 2 of 4 video(s) failed"
    assert "\n  lib/broken.mp4 (exit 2)\n" in result.stderr and "Traceback" not in result.stderr


def test_a_second_run_skips_the_reports_that_are_up_to_date(project, capsys, clips):
    make_library(project, {"lib/a.mp4": clips[0], "lib/b.mp4": clips[1]})
    assert invoke(capsys, "--download-models", "analyze", "lib", "-o", "out", "-j", "1").exit_code == 0
    written = {name: (project / "out" / name).stat().st_mtime_ns for name in reports_in(project / "out")}
    again = invoke(capsys, "analyze", "lib", "-o", "out", "-j", "1")
    assert again.exit_code == 0 and "analysed 0 of 2 video(s), 0 failed, 2 skipped" in again.stderr
    assert {name: (project / "out" / name).stat().st_mtime_ns for name in written} == written

    (project / "lib" / "b.mp4").write_bytes(clips[0])  # replaced: b now has a's content
    changed = invoke(capsys, "analyze", "lib", "-o", "out", "-j", "1")
    assert "analysed 1 of 2 video(s), 0 failed, 1 skipped" in changed.stderr
    reports = reports_in(project / "out")
    assert segment_of(reports["b.mp4.json"]) == segment_of(reports["a.mp4.json"])

    forced = invoke(capsys, "analyze", "lib", "-o", "out", "-j", "1", "--force")
    assert "analysed 2 of 2 video(s), 0 failed, 0 skipped" in forced.stderr


def test_another_analysis_makes_every_report_stale(project, capsys, clips):
    make_library(project, {"lib/a.mp4": clips[0]})
    assert invoke(capsys, "--download-models", "analyze", "lib", "-o", "out", "-j", "1").exit_code == 0
    other_fps = invoke(capsys, "analyze", "lib", "-o", "out", "-j", "1", "--fps", "4")
    assert "analysed 1 of 1 video(s)" in other_fps.stderr
    assert json.loads((project / "out" / "a.mp4.json").read_text())["fps_sampled"] == 4


def test_a_lost_or_damaged_resume_state_only_costs_a_new_analysis(project, capsys, clips):
    make_library(project, {"lib/a.mp4": clips[0]})
    assert invoke(capsys, "--download-models", "analyze", "lib", "-o", "out", "-j", "1").exit_code == 0
    (project / "out" / STATE_NAME).write_text("{not json", encoding="utf-8")
    result = invoke(capsys, "analyze", "lib", "-o", "out", "-j", "1")
    assert result.exit_code == 0 and "analysed 1 of 1 video(s)" in result.stderr
    assert json.loads((project / "out" / STATE_NAME).read_text())["reports"]["a.mp4.json"]["size"] > 0


def test_without_o_the_reports_go_to_stdout_one_json_document_each(project, capsys, clips):
    make_library(project, {"a.mp4": clips[0], "b.mp4": clips[1]})
    result = invoke(capsys, "--download-models", "analyze", "a.mp4", "b.mp4", "-j", "1")
    assert result.exit_code == 0, result.stderr
    decoder, text, videos = json.JSONDecoder(), result.stdout, []
    while text.strip():
        report, end = decoder.raw_decode(text.lstrip())
        videos.append(report["video"])
        text = text.lstrip()[end:]
    assert sorted(videos) == ["a.mp4", "b.mp4"]


def test_a_bar_over_the_videos_when_progress_is_on(project, capsys, clips):
    make_library(project, {"a.mp4": clips[0], "b.mp4": clips[1]})
    result = invoke(capsys, "--download-models", "--progress", "analyze", "a.mp4", "b.mp4", "-o", "out", "-j", "1")
    assert result.exit_code == 0
    assert "videos: 100%" in result.stderr and "2/2" in result.stderr
    assert "a.mp4: 1 segment(s) to censor in 2.0 s; wrote out/a.mp4.json" in result.stderr


def test_o_naming_an_existing_folder_takes_the_library_form_for_one_video(project, capsys, clips):
    make_library(project, {"a.mp4": clips[0]})
    (project / "out").mkdir()
    result = invoke(capsys, "--download-models", "--quiet", "analyze", "a.mp4", "-o", "out")
    assert result.exit_code == 0 and sorted(reports_in(project / "out")) == ["a.mp4.json"]


def test_models_missing_stop_the_run_before_any_video_naming_the_command_that_fixes_it(project, capsys, clips):
    make_library(project, {"lib/a.mp4": clips[0]})
    result = invoke(capsys, "analyze", "lib", "-o", "out", "-j", "1")
    assert result.exit_code == 1 and result.error_lines == ["error: models not downloaded: tiny"]
    assert "hint: run `video-censor --download-models analyze lib -o out`" in result.stderr
    assert reports_in(project / "out") == {} if (project / "out").exists() else True


@pytest.mark.parametrize("argv, words", [
    (["analyze", "a.mp4", "b.mp4", "--edl", "x.edl"], "error: --edl writes one file, so it takes one video"),
    (["analyze", "a.mp4", "b.mp4", "-o", "a.mp4"], "error: -o a.mp4: with several videos, -o names a directory"),
    (["analyze", "a.mp4", "--scheduler", "localhost:8786"],
     "error: --scheduler localhost:8786: not a Dask scheduler address"),
    (["analyze", "a.mp4", "--scheduler", "tcp://h:1", "-j", "2"], "error: --jobs and --scheduler exclude each other"),
    (["--mirror", "models/", "analyze", "a.mp4", "--scheduler", "tcp://127.0.0.1:1"],
     "error: --mirror 'models/' is not an http(s)://"),  # checked by the client, not by each worker
], ids=["edl", "o-is-a-file", "scheduler-address", "jobs-and-scheduler", "mirror-on-a-cluster"])
def test_usage_mistakes_exit_2_before_any_work(project, capsys, clips, argv, words):
    make_library(project, {"a.mp4": clips[0], "b.mp4": clips[1]})
    result = invoke(capsys, *argv)
    assert result.exit_code == 2 and len(result.error_lines) == 1
    assert result.error_lines[0].startswith(words) and "hint:" in result.stderr
    assert not (project / "x.edl").exists() and (project / "a.mp4").read_bytes() == clips[0]


def test_a_scheduler_nobody_listens_on_is_exit_3_at_once(project, capsys, clips):
    import socket

    make_library(project, {"a.mp4": clips[0]})
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = invoke(capsys, "analyze", "a.mp4", "--scheduler", f"tcp://127.0.0.1:{port}")
    assert result.exit_code == 3
    assert result.error_lines[0].startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: ")


def test_a_path_the_worker_cannot_see_is_said_clearly(project, capsys):
    from video_censor_personal.analysis_pipeline import AnalysisRequest
    from video_censor_personal.config import load_manifest
    from video_censor_personal.library.dask_runner import SHARED_FS_HINT
    from video_censor_personal.library.work import Job, Task, analyse
    from video_censor_personal.lockfile import read_lockfile

    assert invoke(capsys, "models", "download").exit_code == 0
    job = Job(load_manifest(Path("models.toml")), read_lockfile(Path("models.lock")), AnalysisRequest(Path()))
    outcome = analyse(job, Task(0, "/srv/library/a.mp4", "library/a.mp4"), "tcp://10.0.0.7:4000", SHARED_FS_HINT)
    assert outcome.error.exit_code == 2 and not outcome.setup
    assert outcome.error.message == "cannot read video library/a.mp4: worker tcp://10.0.0.7:4000 cannot see " \
                                    "/srv/library/a.mp4"
    assert "same path on every worker" in outcome.error.hint


def test_a_bug_met_on_one_video_is_one_failure_and_the_run_exits_with_the_highest_code(project, capsys, clips,
                                                                                     monkeypatch):
    from video_censor_personal.analysis_pipeline import AnalysisPipeline

    make_library(project, {"a.mp4": clips[0], "b.mp4": clips[1]})
    make_not_a_video(project / "c.mp4")
    assert invoke(capsys, "models", "download").exit_code == 0
    real_run = AnalysisPipeline.run

    def run(self, request, reporter=None):  # a planted bug: no real input reaches this branch
        if request.video.name == "b.mp4":
            raise ValueError("planted")
        return real_run(self, request, reporter)

    monkeypatch.setattr(AnalysisPipeline, "run", run)
    result = invoke(capsys, "--debug", "analyze", "a.mp4", "b.mp4", "c.mp4", "-o", "out", "-j", "1")
    assert result.exit_code == 2 and sorted(reports_in(project / "out")) == ["a.mp4.json"]
    assert "\n  b.mp4 (exit 1)\n  c.mp4 (exit 2)\n" in result.stderr
    assert "error: analysing b.mp4 failed: unexpected ValueError: planted" in result.stderr
    assert "  Traceback (most recent call last):" in result.stderr
    assert "hint: run again with --debug and report the traceback" in result.stderr


def test_without_the_cluster_extra_scheduler_says_what_to_install(project, capsys, clips, monkeypatch):
    import sys

    make_library(project, {"a.mp4": clips[0]})
    monkeypatch.setitem(sys.modules, "distributed", None)  # what Python does when it is not installed
    result = invoke(capsys, "analyze", "a.mp4", "--scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert result.error_lines == ["error: --scheduler needs dask distributed (the `cluster` extra), which is not "
                                  "installed"]
    assert "hint: pip install 'video-censor-personal[cluster]'" in result.stderr


def test_messages_name_videos_as_given_not_by_the_absolute_path_workers_open(project, capsys, clips):
    make_library(project, {"lib/a.mp4": clips[0]})
    make_not_a_video(project / "lib" / "z.mp4")
    result = invoke(capsys, "--download-models", "analyze", "lib", "-o", "out", "-j", "1")
    assert "error: cannot read video lib/z.mp4:" in result.stderr and str(project) not in result.stderr
