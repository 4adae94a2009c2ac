"""Merging flagged samples into segments, and the two files a user gets: JSON and EDL."""

from __future__ import annotations

import json
import math

import pytest

from video_censor_personal.analysis.report import Box, Flag, Report, Segment, merge_segments, render_edl, render_json


def flags(indexes, score=0.9, model="nsfw-classifier", label="nsfw"):
    return [Flag(model, label, index, score) for index in indexes]


def timeline(samples=30, fps=2, frame=0.1):
    """Sampled frames at k / fps, each shown for `frame` seconds (a 10 fps video)."""
    return [(k / fps, k / fps + frame) for k in range(samples)]


def test_a_segment_runs_from_the_frame_after_the_last_clean_sample_to_the_next_clean_sample():
    segments = merge_segments(flags([6, 7, 8]), timeline(), duration=12.4)
    assert segments == (Segment(2.6, 4.5, "nsfw", 0.9, "nsfw-classifier"),)


def test_segment_times_are_the_sampled_frames_own_timestamps():
    """A 24 fps video sampled at 5 fps: sample k is frame ceil(24 k / 5), shown at that frame's time."""
    frames = [(math.ceil(24 * k / 5) / 24, (math.ceil(24 * k / 5) + 1) / 24) for k in range(20)]
    [segment] = merge_segments(flags([3]), frames, duration=4)
    assert (segment.start, segment.end) == (11 / 24, 20 / 24)  # not the nominal 0.4 + 1/24 and 0.8


def test_one_unflagged_sample_splits_a_segment():
    segments = merge_segments(flags([1, 2, 4]), timeline(), duration=10)
    assert [(s.start, s.end) for s in segments] == [(0.1, 1.5), (1.6, 2.5)]


def test_a_segment_scores_its_highest_sample():
    mixed = [Flag("m", "nsfw", 1, 0.81), Flag("m", "nsfw", 2, 0.97), Flag("m", "nsfw", 3, 0.85)]
    assert merge_segments(mixed, timeline(), duration=10)[0].score == 0.97


def test_a_segment_at_either_end_of_the_video_reaches_it():
    assert [(s.start, s.end) for s in merge_segments(flags([0, 1]), timeline(12), duration=5.8)] == [(0.0, 1.0)]
    assert [(s.start, s.end) for s in merge_segments(flags([11]), timeline(12), duration=5.8)] == [(5.1, 5.8)]


def test_pad_widens_every_segment_within_the_video():
    padded = merge_segments(flags([0, 6, 7, 11]), timeline(12), duration=5.8, pad=0.25)
    assert [t for s in padded for t in (s.start, s.end)] == pytest.approx([0.0, 0.75, 2.35, 4.25, 4.85, 5.8])


def test_models_and_labels_never_merge_and_segments_come_in_time_order():
    every = flags([4, 5], model="b") + flags([0, 1], model="a") + flags([4], model="a", label="violence")
    segments = merge_segments(every, timeline(), duration=10)
    assert [(s.model, s.label, s.start, s.end) for s in segments] == [
        ("a", "nsfw", 0.0, 1.0), ("a", "violence", 1.6, 2.5), ("b", "nsfw", 1.6, 3.0)]


def test_no_flags_no_segments():
    assert merge_segments([], timeline(), duration=10) == ()


def test_json_report_has_exactly_the_documented_shape():
    report = Report("in.mp4", 12.4, 2.0, {"nsfw-classifier": "1ceb3c7f" * 5},
                    merge_segments(flags([6, 7, 8], score=0.97123), timeline(25, frame=0.5), duration=12.4))
    assert json.loads(render_json(report)) == {
        "video": "in.mp4", "duration": 12.4, "fps_sampled": 2,
        "models": {"nsfw-classifier": "1ceb3c7f" * 5},
        "segments": [{"start": 3.0, "end": 4.5, "label": "nsfw", "score": 0.971, "model": "nsfw-classifier"}],
    }


def test_a_detector_segment_carries_its_boxes_in_frame_fractions():
    box = Box(3.0, 0.41, 0.2200004, 0.18, 0.2, "FEMALE_BREAST_EXPOSED", 0.8104)
    later = Box(3.5, 0.43, 0.22, 0.18, 0.2, "FEMALE_BREAST_EXPOSED", 0.79)
    run = [Flag("det", box.label, 6, 0.8104, (box,)), Flag("det", box.label, 7, 0.79, (later,))]
    report = Report("in.mp4", 12.4, 2, {"det": "0" * 40}, merge_segments(run, timeline(25), duration=12.4))
    [segment] = json.loads(render_json(report))["segments"]
    assert segment == {"start": 2.6, "end": 4.0, "label": "FEMALE_BREAST_EXPOSED", "score": 0.81, "model": "det",
                       "boxes": [{"t": 3.0, "x": 0.41, "y": 0.22, "w": 0.18, "h": 0.2,
                                  "label": "FEMALE_BREAST_EXPOSED", "score": 0.81},
                                 {"t": 3.5, "x": 0.43, "y": 0.22, "w": 0.18, "h": 0.2,
                                  "label": "FEMALE_BREAST_EXPOSED", "score": 0.79}]}


def test_json_numbers_are_rounded_to_milliseconds():
    frames = [(k / 3, k / 3 + 1 / 30) for k in range(30)]
    report = Report("a.mkv", 10.0000004, 3, {"m": "0" * 40}, merge_segments(flags([1]), frames, duration=10))
    document = json.loads(render_json(report))
    assert document["duration"] == 10.0 and document["fps_sampled"] == 3
    assert document["segments"][0]["start"] == 0.033 and document["segments"][0]["end"] == 0.667
    assert json.loads(render_json(Report("a", 1, 2.5, {}, ())))["fps_sampled"] == 2.5


def test_edl_lists_skip_ranges_with_overlaps_joined():
    segments = [Segment(3.0, 4.5, "nsfw", 0.9, "a"), Segment(4.0, 5.0, "gore", 0.9, "b"),
                Segment(10.25, 11.0, "nsfw", 0.9, "a")]
    assert render_edl(segments) == "3.000 5.000 0\n10.250 11.000 0\n"
    assert render_edl([]) == ""


def test_edl_mutes_audio_ranges_where_nothing_is_skipped():
    segments = [Segment(3.0, 5.0, "nsfw", 0.9, "video"),
                Segment(1.0, 4.0, "profanity", 0.9, "speech", audio=True),
                Segment(4.5, 7.0, "profanity", 0.9, "speech", audio=True),
                Segment(8.0, 9.0, "profanity", 0.9, "speech", audio=True)]
    assert render_edl(segments) == "1.000 3.000 1\n3.000 5.000 0\n5.000 7.000 1\n8.000 9.000 1\n"
