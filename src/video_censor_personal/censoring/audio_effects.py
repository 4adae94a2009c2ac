"""Mute or bleep the audio samples that fall in flagged time ranges.

Samples are planar float (channels x samples, -1..1), the format the AAC encoder takes, so
an edit is one masked assignment per frame of about a thousand samples. Which samples are
flagged is decided per sample from its own time, not per audio frame: a range that starts
in the middle of a frame is muted from that sample on, no earlier.

The bleep is a 1 kHz sine, the broadcast censor tone, at half of full scale (-6 dBFS) so
it is plainly heard without clipping; its phase follows the sample's time, so a bleep that
spans several frames is one continuous tone.
"""

from __future__ import annotations

from collections.abc import Sequence

BLEEP_HZ = 1000.0
BLEEP_LEVEL = 0.5  # amplitude, of full scale
AUDIO_EFFECTS = ("keep", "mute", "bleep")

TimeRange = tuple[float, float]


def sample_times(first: float, count: int, rate: int):
    """The time of each of `count` samples, the first at `first` seconds."""
    import numpy as np

    return first + np.arange(count, dtype=np.float64) / rate


def in_ranges(times, ranges: Sequence[TimeRange]):
    """Boolean mask: which `times` lie in one of the sorted, disjoint [start, end) `ranges`."""
    import numpy as np

    if not ranges:
        return np.zeros(len(times), bool)
    starts = np.array([start for start, _ in ranges])
    ends = np.array([end for _, end in ranges])
    index = np.searchsorted(starts, times, side="right") - 1
    return (index >= 0) & (times < ends[index.clip(0)])


def censor_samples(samples, times, ranges: Sequence[TimeRange], effect: str) -> None:
    """Mute or bleep, in place, the samples (channels x n) whose times are flagged."""
    import numpy as np

    if effect == "keep":
        return
    flagged = in_ranges(times, ranges)
    if not flagged.any():
        return
    if effect == "mute":
        samples[:, flagged] = 0
    elif effect == "bleep":
        samples[:, flagged] = BLEEP_LEVEL * np.sin(2 * np.pi * BLEEP_HZ * times[flagged])
    else:
        raise ValueError(f"unknown audio effect {effect!r}")
