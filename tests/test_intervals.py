"""merge_intervals: the one join that the censor plan, the EDL and the ranges record share."""

from video_censor_personal.intervals import merge_intervals


def test_overlapping_and_touching_intervals_join_and_gaps_stay():
    assert merge_intervals([(5, 9), (0, 5), (12, 13), (1, 3), (12.5, 20)]) == [(0, 9), (12, 20)]
    assert merge_intervals([]) == []
