"""`video-censor censor VIDEO -o OUT --report R.json`, judged by decoding OUT.

The clip (tests/censor_clips.py) is 4 s of a fine grating with a pitch-coded tone; the
report flags 1.0-2.0 s whole-frame (a classifier) and 2.5-3.5 s in two boxes (a detector
sampled at 2 fps: box A at 2.5 s, box B at 3.0 s). Held for the sample interval, both boxes
are censored from 2.5 s to 3.0 s, then B alone to 3.5 s. Everything else must come out as
it went in: PSNR of at least 35 dB against the decoded input.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.censor_clips import (
    FPS,
    HEIGHT,
    RATE,
    WIDTH,
    audio_samples,
    detail,
    dominant_frequency,
    frame_index,
    make_clip,
    make_ts_with_data,
    pitch,
    psnr,
    rms,
    video_frames,
    workdir_with,
)
from tests.clirun import invoke

BOX_A = {"x": 0.1, "y": 0.1, "w": 0.3, "h": 0.3}
BOX_B = {"x": 0.5, "y": 0.5, "w": 0.3, "h": 0.3}
REPORT = {
    "video": "clip.mp4", "duration": 4.0, "fps_sampled": 2, "models": {"tiny": "0" * 40},
    "segments": [
        {"start": 1.0, "end": 2.0, "label": "nsfw", "score": 0.97, "model": "tiny"},
        {"start": 2.5, "end": 3.5, "label": "EXPOSED", "score": 0.8, "model": "detector", "boxes": [
            {"t": 2.5, **BOX_A, "label": "EXPOSED", "score": 0.8},
            {"t": 3.0, **BOX_B, "label": "EXPOSED", "score": 0.7},
        ]},
    ],
}


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4").read_bytes()


@pytest.fixture(scope="module")
def input_frames(tmp_path_factory, clip_bytes):
    path = tmp_path_factory.mktemp("reference") / "clip.mp4"
    path.write_bytes(clip_bytes)
    return video_frames(path)


@pytest.fixture
def workdir(tmp_path, monkeypatch, clip_bytes):
    return workdir_with(tmp_path, monkeypatch, clip_bytes, REPORT)


def censor(capsys, *extra: str, report: str = "report.json", output: str = "out.mp4"):
    return invoke(capsys, "censor", "clip.mp4", "-o", output, "--report", report, *extra)


def boxes_at(t: float) -> list[dict]:
    """The boxes censored in the frame at t (the report's boxes held for one sample interval)."""
    if 2.5 <= t < 3.0:
        return [BOX_A, BOX_B]
    return [BOX_B] if 3.0 <= t < 3.5 else []


def inside(box: dict, shrink: int = 3) -> tuple[slice, slice]:
    """The box's own pixels, a few in from its edge."""
    top, left = round(box["y"] * HEIGHT) + shrink, round(box["x"] * WIDTH) + shrink
    bottom, right = round((box["y"] + box["h"]) * HEIGHT) - shrink, round((box["x"] + box["w"]) * WIDTH) - shrink
    return slice(top, bottom), slice(left, right)


def outside(boxes: list[dict], grow: float = 0.25):
    """Mask of the pixels well away from the boxes (past the censoring margin)."""
    mask = np.ones((HEIGHT, WIDTH), bool)
    for box in boxes:
        dx, dy = box["w"] * grow, box["h"] * grow
        top, left = max(round((box["y"] - dy) * HEIGHT), 0), max(round((box["x"] - dx) * WIDTH), 0)
        mask[top:round((box["y"] + box["h"] + dy) * HEIGHT), left:round((box["x"] + box["w"] + dx) * WIDTH)] = False
    return mask


def pairs(input_frames, output_path):
    output = video_frames(output_path)
    assert [round(t, 3) for t, _ in output] == [round(t, 3) for t, _ in input_frames]
    return [(t, before, after) for (t, before), (_, after) in zip(input_frames, output, strict=True)]


def test_blur_removes_detail_only_where_flagged(workdir, capsys, input_frames):
    result = censor(capsys)
    assert result.exit_code == 0, result.stderr
    for t, before, after in pairs(input_frames, workdir / "out.mp4"):
        if 1.0 <= t < 2.0:
            assert detail(after) < 0.03 * detail(before), t  # the whole frame: no fine detail left
        elif boxes := boxes_at(t):
            for box in boxes:
                assert detail(after[inside(box)]) < 0.03 * detail(before[inside(box)]), (t, box)
            assert psnr(after[outside(boxes)], before[outside(boxes)]) >= 35, t
        else:
            assert psnr(after, before) >= 35, t


def test_black_is_black_inside_ranges_and_boxes(workdir, capsys, input_frames):
    assert censor(capsys, "--video", "black").exit_code == 0
    for t, before, after in pairs(input_frames, workdir / "out.mp4"):
        if 1.0 <= t < 2.0:
            assert after.max() < 12, t
        for box in boxes_at(t):
            assert after[inside(box, shrink=1)].max() < 12, (t, box)
            assert psnr(after[outside(boxes_at(t))], before[outside(boxes_at(t))]) >= 35, t


def test_pixelate_leaves_blocks_inside_and_the_rest_alone(workdir, capsys, input_frames):
    assert censor(capsys, "--video", "pixelate").exit_code == 0
    for t, before, after in pairs(input_frames, workdir / "out.mp4"):
        if 1.0 <= t < 2.0:
            assert detail(after) < 0.3 * detail(before), t
            rows_alike = np.abs(np.diff(after[:, :, 1].astype(int), axis=0)) < 8
            assert rows_alike.mean() > 0.8, t  # most neighbours share a block
        for box in boxes_at(t):
            assert np.abs(after[inside(box)].astype(int) - before[inside(box)]).mean() > 20, (t, box)
        if not (1.0 <= t < 3.5):
            assert psnr(after, before) >= 35, t


def test_streams_durations_resolution_rate_and_metadata_are_kept(workdir, capsys):
    import av

    assert censor(capsys, "--audio", "mute").exit_code == 0
    with av.open("clip.mp4") as source, av.open("out.mp4") as output:
        assert [s.type for s in output.streams] == [s.type for s in source.streams] == ["video", "audio"]
        video_in, video_out = source.streams.video[0], output.streams.video[0]
        assert (video_out.codec_context.width, video_out.codec_context.height) == (WIDTH, HEIGHT)
        assert video_out.average_rate == video_in.average_rate == FPS
        assert video_out.codec_context.name == "h264" and output.streams.audio[0].codec_context.name == "aac"
        for s_in, s_out in zip(source.streams, output.streams, strict=True):
            assert float(s_out.duration * s_out.time_base) == pytest.approx(float(s_in.duration * s_in.time_base),
                                                                            abs=0.025)
            assert s_out.metadata["language"] == s_in.metadata["language"]
        assert output.streams.audio[0].rate == RATE
        assert output.metadata["title"] == "test clip"


def at(first: float, samples, start: float, end: float):
    return samples[round((start - first) * RATE):round((end - first) * RATE)]


def test_mute_silences_flagged_ranges_only(workdir, capsys):
    assert censor(capsys, "--audio", "mute").exit_code == 0
    first, samples = audio_samples(workdir / "out.mp4")
    for start, end in ((1.05, 1.95), (2.55, 3.45)):
        assert rms(at(first, samples, start, end)) < 1e-3
    for start, end in ((0.1, 0.9), (2.1, 2.4), (3.6, 3.9)):
        assert rms(at(first, samples, start, end)) > 0.15  # the 0.3 sine: 0.21


def test_bleep_is_a_1_khz_tone_in_flagged_ranges(workdir, capsys):
    assert censor(capsys, "--audio", "bleep", "--video", "black").exit_code == 0
    first, samples = audio_samples(workdir / "out.mp4")
    for start, end in ((1.1, 1.9), (2.6, 3.4)):
        assert dominant_frequency(at(first, samples, start, end)) == pytest.approx(1000, abs=5)
    for second in (0, 2):
        assert dominant_frequency(at(first, samples, second + 0.1, second + 0.4)) == pytest.approx(pitch(second),
                                                                                                    abs=5)


def test_pcm_audio_and_4_4_4_video_are_censored_too(workdir, capsys):
    """Matroska with PCM audio (channels without names) and full-resolution chroma."""
    make_clip(workdir / "clip.mkv", pix_fmt="yuv444p", audio_codec="pcm_s16le")
    result = invoke(capsys, "censor", "clip.mkv", "-o", "out.mkv", "--report", "report.json", "--audio", "mute")
    assert result.exit_code == 0, result.stderr
    first, samples = audio_samples(workdir / "out.mkv")
    assert rms(at(first, samples, 1.05, 1.95)) < 1e-3 and rms(at(first, samples, 0.1, 0.9)) > 0.15
    for t, before, after in pairs(video_frames(workdir / "clip.mkv"), workdir / "out.mkv"):
        if t < 1.0:
            assert psnr(after, before) >= 35, t
        elif t < 2.0:
            assert detail(after) < 0.03 * detail(before), t


def test_keep_copies_the_audio_untouched(workdir, capsys):
    import av

    assert censor(capsys).exit_code == 0
    with av.open("clip.mp4") as source, av.open("out.mp4") as output:
        before = [bytes(p) for p in source.demux(source.streams.audio[0]) if p.size]
        after = [bytes(p) for p in output.demux(output.streams.audio[0]) if p.size]
    assert before == after


def test_cut_removes_the_flagged_time_from_both_streams_in_sync(workdir, capsys):
    import av

    result = censor(capsys, "--video", "cut", "--audio", "bleep")  # --audio is moot: the audio goes too
    assert result.exit_code == 0, result.stderr
    assert "cut 2.0 s of 4.0 s" in result.stderr and "(2.0 s)" in result.stderr
    output = video_frames(workdir / "out.mp4")
    shown = [frame_index(image) for _, image in output]
    assert shown == [*range(0, 10), *range(20, 25), *range(35, 40)]  # 1-2 s and 2.5-3.5 s are gone
    assert [round(t, 3) for t, _ in output] == [round(i / FPS, 3) for i in range(20)]
    with av.open("out.mp4") as container:
        for stream in container.streams:
            assert float(stream.duration * stream.time_base) == pytest.approx(2.0, abs=0.025)
    first, samples = audio_samples(workdir / "out.mp4")
    # what the picture shows at 1.0-1.5 s (input 2.0-2.5 s) is heard there too: input second 2's pitch
    for (start, end), second in (((0.1, 0.9), 0), ((1.05, 1.45), 2), ((1.55, 1.95), 3)):
        assert dominant_frequency(at(first, samples, start, end)) == pytest.approx(pitch(second), abs=5)


def test_other_streams_are_copied_and_metadata_kept(workdir, capsys, tmp_path):
    import av

    make_clip(tmp_path / "clip.mkv", subtitles=True)
    result = invoke(capsys, "censor", "clip.mkv", "-o", "out.mkv", "--report", "report.json")
    assert result.exit_code == 0, result.stderr
    with av.open("clip.mkv") as source, av.open("out.mkv") as output:
        assert [s.type for s in output.streams] == ["video", "audio", "subtitle"]
        assert output.metadata["title"] == "test clip"
        assert [s.metadata.get("language") for s in output.streams][:2] == ["eng", "fra"]
        subtitles = [[(bytes(p), p.pts) for p in c.demux(c.streams.subtitles[0]) if p.size] for c in (source, output)]
    assert subtitles[0] == subtitles[1] and len(subtitles[0]) == 4


def test_a_data_stream_is_copied_where_it_fits_and_left_out_with_a_warning_elsewhere(workdir, capsys):
    import av

    make_ts_with_data(workdir / "camera.ts")
    (workdir / "short.json").write_text(json.dumps({"fps_sampled": 2, "segments": [{"start": 0.2, "end": 0.5}]}))
    kept = invoke(capsys, "censor", "camera.ts", "-o", "out.ts", "--report", "short.json")
    assert kept.exit_code == 0 and kept.warning_lines == []
    with av.open("camera.ts") as source, av.open("out.ts") as output:
        data = [[bytes(p) for p in c.demux(c.streams.data[0]) if p.size] for c in (source, output)]
    assert data[0] == data[1] and len(data[0]) == 10
    dropped = invoke(capsys, "censor", "camera.ts", "-o", "out.mp4", "--report", "short.json")
    assert dropped.exit_code == 0
    assert dropped.warning_lines == ["warning: out.mp4: a .mp4 file cannot hold stream #1 (data, bin_data); "
                                     "it is left out"]
    with av.open("out.mp4") as output:
        assert [s.type for s in output.streams] == ["video"]


def test_nothing_flagged_gives_an_untouched_copy(workdir, capsys):
    import av

    (workdir / "clean.json").write_text(json.dumps({**REPORT, "segments": []}), encoding="utf-8")
    result = censor(capsys, report="clean.json")
    assert result.exit_code == 0 and "nothing flagged in 4.0 s" in result.stderr
    with av.open("clip.mp4") as source, av.open("out.mp4") as output:
        packets = [[bytes(p) for p in c.demux() if p.size] for c in (source, output)]
    assert packets[0] == packets[1]


def test_a_rotated_phone_video_stays_upright(workdir, capsys, tmp_path):
    import av

    make_clip(tmp_path / "clip.mp4", rotation=90)
    assert censor(capsys).exit_code == 0
    with av.open("out.mp4") as output:
        assert next(output.decode(video=0)).rotation == 90


def test_progress_bar_and_speed_when_forced(workdir, capsys):
    result = invoke(capsys, "--progress", "censor", "clip.mp4", "-o", "out.mp4", "--report", "report.json")
    assert result.exit_code == 0
    assert "censoring: 100%" in result.stderr and "4.0/4.0 s" in result.stderr
    assert "censored 2.0 s of 4.0 s (video blur, audio keep) in " in result.stderr
    assert "x real time; wrote out.mp4" in result.stderr


def test_quiet_prints_nothing(workdir, capsys):
    result = invoke(capsys, "--quiet", "censor", "clip.mp4", "-o", "out.mp4", "--report", "report.json")
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == ""
