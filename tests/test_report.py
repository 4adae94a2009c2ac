"""Merging flagged samples into segments, and the two files a user gets: JSON and EDL."""

from __future__ import annotations

import json

from video_censor_personal.analysis.report import Flag, Report, Segment, merge_segments, render_edl, render_json


def flags(indexes, score=0.9, model="nsfw-classifier", label="nsfw"):
    return [Flag(model, label, index, score) for index in indexes]


def test_consecutive_samples_form_one_segment_ending_one_sample_after_the_last():
    segments = merge_segments(flags([6, 7, 8]), fps=2, duration=12.4)
    assert segments == (Segment(3.0, 4.5, "nsfw", 0.9, "nsfw-classifier"),)


def test_one_unflagged_sample_splits_a_segment():
    segments = merge_segments(flags([1, 2, 4]), fps=2, duration=10)
    assert [(s.start, s.end) for s in segments] == [(0.5, 1.5), (2.0, 2.5)]


def test_a_segment_scores_its_highest_sample():
    mixed = [Flag("m", "nsfw", 1, 0.81), Flag("m", "nsfw", 2, 0.97), Flag("m", "nsfw", 3, 0.85)]
    assert merge_segments(mixed, fps=1, duration=10)[0].score == 0.97


def test_the_last_segment_is_clamped_to_the_duration():
    assert merge_segments(flags([11]), fps=2, duration=5.8)[0].end == 5.8


def test_models_and_labels_never_merge_and_segments_come_in_time_order():
    every = flags([4, 5], model="b") + flags([0, 1], model="a") + flags([4], model="a", label="violence")
    segments = merge_segments(every, fps=2, duration=10)
    assert [(s.model, s.label, s.start, s.end) for s in segments] == [
        ("a", "nsfw", 0.0, 1.0), ("a", "violence", 2.0, 2.5), ("b", "nsfw", 2.0, 3.0)]


def test_no_flags_no_segments():
    assert merge_segments([], fps=2, duration=10) == ()


def test_json_report_has_exactly_the_documented_shape():
    report = Report("in.mp4", 12.4, 2.0, {"nsfw-classifier": "1ceb3c7f" * 5},
                    merge_segments(flags([6, 7, 8], score=0.97123), fps=2, duration=12.4))
    assert json.loads(render_json(report)) == {
        "video": "in.mp4", "duration": 12.4, "fps_sampled": 2,
        "models": {"nsfw-classifier": "1ceb3c7f" * 5},
        "segments": [{"start": 3.0, "end": 4.5, "label": "nsfw", "score": 0.971, "model": "nsfw-classifier"}],
    }


def test_json_numbers_are_rounded_to_milliseconds():
    report = Report("a.mkv", 10.0000004, 3, {"m": "0" * 40}, merge_segments(flags([1]), fps=3, duration=10))
    document = json.loads(render_json(report))
    assert document["duration"] == 10.0 and document["fps_sampled"] == 3
    assert document["segments"][0]["start"] == 0.333 and document["segments"][0]["end"] == 0.667
    assert json.loads(render_json(Report("a", 1, 2.5, {}, ())))["fps_sampled"] == 2.5


def test_edl_lists_skip_ranges_with_overlaps_joined():
    segments = [Segment(3.0, 4.5, "nsfw", 0.9, "a"), Segment(4.0, 5.0, "gore", 0.9, "b"),
                Segment(10.25, 11.0, "nsfw", 0.9, "a")]
    assert render_edl(segments) == "3.000 5.000 0\n10.250 11.000 0\n"
    assert render_edl([]) == ""
