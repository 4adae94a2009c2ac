"""The pure parts of `censor`: the plan (which frame, which region, which samples) and the
effects on arrays and frames, checked on values a person can work out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from video_censor_personal.analysis.report import Report, Segment
from video_censor_personal.censoring.audio_effects import BLEEP_LEVEL, censor_samples, in_ranges, sample_times
from video_censor_personal.censoring.plan import Cuts, plan, snap_to_frames
from video_censor_personal.censoring.report_reader import Box, FlaggedRange, FlaggedVideo, read_report
from video_censor_personal.censoring.video_effects import WHOLE_FRAME, Region, censor_frame

FRAME = 0.1  # 10 fps


def frame_at(timeline, t: float):
    return timeline.at(t, t + FRAME)


def test_a_classifier_range_censors_the_whole_frame_of_exactly_its_frames():
    timeline = plan(FlaggedVideo((FlaggedRange(1.0, 2.0),), 4.0, 2), 4.0).timeline()
    censored = [round(i * FRAME, 1) for i in range(40) if frame_at(timeline, i * FRAME)]
    assert censored == [round(1.0 + i * FRAME, 1) for i in range(10)]
    assert frame_at(timeline, 1.5).regions == (WHOLE_FRAME,)


def test_millisecond_rounding_in_the_report_neither_adds_nor_drops_a_frame():
    timeline = plan(FlaggedVideo((FlaggedRange(1.0 / 3 - 0.0004, 2.0 / 3 + 0.0004),), 4.0, 2), 4.0).timeline()
    third = 1 / 30  # a 30 fps video: the segment is frames 10 to 19
    censored = [i for i in range(40) if timeline.at(i * third, (i + 1) * third)]
    assert censored == list(range(10, 20))


def test_boxes_are_held_from_the_previous_sample_to_the_next_with_a_margin():
    boxes = (Box(2.5, 0.1, 0.1, 0.2, 0.2), Box(3.0, 0.6, 0.6, 0.2, 0.2), Box(3.5, 0.7, 0.0, 0.3, 0.1))
    censor_plan = plan(FlaggedVideo((FlaggedRange(2.4, 4.0, boxes),), 6.0, 2), 6.0)
    holds = [(h.start, h.end, h.region.left, h.region.top, h.region.right, h.region.bottom)
             for h in censor_plan.holds]
    assert [value for hold in holds for value in hold] == pytest.approx([
        2.4, 3.0, 0.07, 0.07, 0.33, 0.33,  # 2.4: back to the segment's start; margin 15 % of 0.2
        2.5, 3.5, 0.57, 0.57, 0.83, 0.83,  # one sample interval (0.5 s) on each side
        3.0, 4.0, 0.655, 0.0, 1.0, 0.115,  # forward to the segment's end; kept inside the frame
    ])
    first, second, third = (hold.region for hold in censor_plan.holds)
    timeline = censor_plan.timeline()
    assert frame_at(timeline, 2.4).regions == (first,)  # the first sample's boxes reach back to the start
    assert set(frame_at(timeline, 2.7).regions) == {first, second}  # between samples: both
    assert set(frame_at(timeline, 3.2).regions) == {second, third}
    assert frame_at(timeline, 3.9).regions == (third,) and frame_at(timeline, 4.0) is None


def test_a_whole_frame_range_wins_over_boxes_and_the_sweep_can_go_back():
    detector = FlaggedRange(0.0, 2.0, (Box(0.5, 0.1, 0.1, 0.1, 0.1),))
    timeline = plan(FlaggedVideo((detector, FlaggedRange(1.0, 3.0)), 4.0, 2), 4.0).timeline()
    assert frame_at(timeline, 1.5).regions == (WHOLE_FRAME,)
    assert frame_at(timeline, 0.2).regions != (WHOLE_FRAME,)  # an earlier frame after a later one
    assert frame_at(timeline, 3.5) is None


def test_ranges_are_clamped_to_the_video_and_merged():
    flagged = FlaggedVideo((FlaggedRange(1.0, 2.0), FlaggedRange(1.5, 2.5), FlaggedRange(3.5, 9.0),
                            FlaggedRange(9.0, 10.0)), 4.0, 2)
    censor_plan = plan(flagged, 4.0)
    assert censor_plan.ranges == ((1.0, 2.5), (3.5, 4.0))
    assert censor_plan.censored_seconds == pytest.approx(2.0)


def test_cut_ranges_take_whole_frames_so_audio_goes_with_them():
    starts = [i / 10 for i in range(40)]

    def snapped(*ranges):
        return [round(value, 6) for cut in snap_to_frames(ranges, starts, 4.0) for value in cut]

    assert snapped((1.05, 1.95)) == [1.0, 2.0]  # every frame on screen in the range, whole
    assert snapped((1.0, 2.0), (3.95, 4.0)) == [1.0, 2.0, 3.9, 4.0]
    assert snapped() == []


def test_the_cut_time_map():
    cuts = Cuts(((1.0, 2.0), (2.5, 3.5)))
    assert cuts.total == 2.0
    assert [cuts.removes(t) for t in (0.9, 1.0, 1.99, 2.0, 3.4, 3.5)] == [False, True, True, False, True, False]
    assert [cuts.output_time(t) for t in (0.5, 1.5, 2.0, 2.25, 3.0, 3.75)] == [0.5, 1.0, 1.0, 1.25, 1.5, 1.75]


def test_the_report_of_the_analysis_side_reads_back():
    report = Report("clip.mp4", 6.0, 2, {"tiny": "0" * 40}, (Segment(2.0, 4.0, "nsfw", 0.99, "tiny"),))
    assert read_report(report.to_dict(), "the analysis") == FlaggedVideo((FlaggedRange(2.0, 4.0),), 6.0, 2)


def test_samples_are_flagged_one_by_one_and_the_bleep_is_one_continuous_tone():
    rate = 8000
    times = sample_times(0.99, 160, rate)  # 0.99 s to 1.01 s
    assert in_ranges(times, ((1.0, 2.0),)).sum() == 80
    samples = np.full((2, 160), 0.25, np.float32)
    censor_samples(samples, times, ((1.0, 2.0),), "bleep")
    assert (samples[:, :80] == 0.25).all()
    expected = BLEEP_LEVEL * np.sin(2 * np.pi * 1000 * times[80:])
    assert np.allclose(samples[0, 80:], expected, atol=1e-6) and np.allclose(samples[1, 80:], expected, atol=1e-6)
    censor_samples(samples, times, ((0.0, 1.0),), "mute")
    assert (samples[:, :80] == 0).all()


def test_effects_change_only_their_region_whatever_the_frame_size_and_format():
    import av

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (121, 161, 3), np.uint8)  # odd sizes: chroma planes round up
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")  # not YUV: converted first
    region = Region(0.5, 0.5, 1.0, 1.0)
    before = frame.reformat(format="yuv420p").to_ndarray(format="rgb24").astype(int)
    for effect in ("blur", "pixelate", "black"):
        after = censor_frame(frame, [region], effect).to_ndarray(format="rgb24").astype(int)
        assert np.abs(after[:56, :] - before[:56, :]).max() <= 2  # above the region: as it was
        assert np.abs(after[64:, 84:] - before[64:, 84:]).mean() > 30  # inside: changed strongly
    assert censor_frame(frame, [region], "black").to_ndarray(format="rgb24")[64:, 84:].max() < 8


def test_black_is_black_in_full_range_video_too():
    import av

    frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 200, np.uint8), format="rgb24").reformat(format="yuvj420p")
    blacked = censor_frame(frame, [WHOLE_FRAME], "black")
    assert blacked.format.name == "yuvj420p" and blacked.planes and blacked.to_ndarray(format="rgb24").max() < 4
