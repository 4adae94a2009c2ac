"""Half-open intervals [start, end): one small pure function that three stages share.

The censor plan (time ranges to censor), the analysis report (EDL skips and mutes) and the
segmented download record (byte ranges on disk) all join intervals the same way. It imports
nothing, so every stage may import it without bending the one-way import rule.
"""

from __future__ import annotations

from collections.abc import Iterable


def merge_intervals(intervals: Iterable[tuple]) -> list[tuple]:
    """Overlapping or touching intervals joined, in order: [0, 5) and [5, 9) give [0, 9)."""
    merged: list[list] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
