"""Frame sampling: which frame stands for time t, what bad input looks like to the user."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.media import make_audio_only, make_clip, make_not_a_video, make_zero_length
from video_censor_personal.analysis.frames import FrameSampler, probe
from video_censor_personal.errors import MediaError


def STEPPED(t: float) -> int:  # noqa: N802 - a constant-like curve
    """Every frame a different grey level."""
    return 10 + 4 * round(t * 10) % 240


@pytest.fixture(scope="module")
def stepped_clip(tmp_path_factory):
    """6 s at 10 fps, H.264 with B-frames, each frame a distinct grey level."""
    return make_clip(tmp_path_factory.mktemp("media") / "stepped.mp4", gray=STEPPED)


def reference_samples(path, fps):
    """The rule of DESIGN.md applied by brute force: decode every frame, pick the first at or after t.

    A frame that is the pick of several t is one sample; its time is its own timestamp.
    """
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [((f.pts - (stream.start_time or 0)) * Fraction(stream.time_base), f.to_ndarray(format="rgb24"))
                   for f in container.decode(stream)]
    samples, index = [], 0
    for time, image in decoded:
        if Fraction(index) / Fraction(fps) <= time:
            samples.append((time, image))
        while Fraction(index) / Fraction(fps) <= time:
            index += 1
    return samples


@pytest.mark.parametrize("fps", [2, 3, 0.7, 25])
def test_each_sample_is_the_first_frame_at_or_after_its_time(stepped_clip, fps):
    """Same frames, bit for bit, as a full decode: skipping unneeded frames changes nothing."""
    import numpy as np

    expected = reference_samples(stepped_clip, fps)
    got = list(FrameSampler(stepped_clip, fps))
    assert [s.index for s in got] == list(range(len(expected)))
    assert [s.time for s in got] == pytest.approx([float(time) for time, _ in expected])
    assert all(np.array_equal(s.rgb(64, 64), image) for s, (_, image) in zip(got, expected, strict=True))


def test_two_fps_of_a_ten_fps_clip_takes_every_fifth_frame(stepped_clip):
    sampler = FrameSampler(stepped_clip, 2)
    samples = list(sampler)
    assert [s.time for s in samples] == pytest.approx([k / 2 for k in range(12)])
    assert [start for start, _ in sampler.timeline] == pytest.approx([k / 2 for k in range(12)])
    assert [end for _, end in sampler.timeline] == pytest.approx([k / 2 + 0.1 for k in range(12)])
    greys = [int(s.rgb(8, 8).mean().round()) for s in samples]
    assert greys == pytest.approx([STEPPED(k / 2) for k in range(12)], abs=2)


def test_above_the_frame_rate_each_frame_is_one_sample_at_its_own_time(stepped_clip):
    """25 fps over a 10 fps clip: 60 samples, not 150, stamped at the frames' k / 10."""
    sampler = FrameSampler(stepped_clip, 25)
    assert [s.time for s in sampler] == pytest.approx([k / 10 for k in range(60)])
    assert [end for _, end in sampler.timeline] == pytest.approx([(k + 1) / 10 for k in range(60)])


def test_a_sample_is_resized_to_what_the_model_asks(stepped_clip):
    sample = next(iter(FrameSampler(stepped_clip, 2)))
    image = sample.rgb(48, 24)
    assert image.shape == (24, 48, 3) and image.dtype.name == "uint8"


def test_times_count_from_the_start_of_the_stream(tmp_path):
    """MPEG-TS stamps its first frame at 0.2 s; the first sample is still at t = 0."""
    clip = make_clip(tmp_path / "clip.ts", gray=STEPPED)
    samples = list(FrameSampler(clip, 2))
    assert samples[0].index == 0 and int(samples[0].rgb(8, 8).mean().round()) == pytest.approx(10, abs=2)
    assert len(samples) == 12


def test_progress_reports_positions_up_to_the_end(stepped_clip):
    positions = []
    sampler = FrameSampler(stepped_clip, 2, positions.append)
    list(sampler)
    assert positions == sorted(positions) and positions[-1] == pytest.approx(5.9)
    assert sampler.end == pytest.approx(6.0)


def test_probe_reads_duration_and_size(stepped_clip):
    info = probe(stepped_clip)
    assert info.duration == pytest.approx(6.0) and (info.width, info.height) == (64, 64)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p, "file not found"),
        (make_not_a_video, "not a video file"),
        (make_audio_only, "no video stream (only audio)"),
        (make_zero_length, "no video stream"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.mkdir(), p)[1], "not a file"),
    ],
    ids=["missing", "text", "audio-only", "zero-frames", "zero-bytes", "directory"],
)
def test_bad_input_is_one_clear_media_error_naming_the_file(tmp_path, make, reason):
    path = make(tmp_path / "input.mp4")
    for attempt in (lambda: probe(path), lambda: list(FrameSampler(path, 2))):
        with pytest.raises(MediaError) as caught:
            attempt()
        assert str(path) in caught.value.message and reason in caught.value.message
        assert "\n" not in caught.value.message and caught.value.exit_code == 2


def test_a_detached_sample_keeps_only_the_inputs_made_for_it(stepped_clip):
    sample = next(iter(FrameSampler(stepped_clip, 2)))
    sample.detach({"small": lambda s: s.rgb(32, 32)})
    assert sample.frame is None and sample.prepared("small", None).shape == (32, 32, 3)
    with pytest.raises(ValueError):
        sample.rgb(32, 32)  # the RGB copies went with the frame
    with pytest.raises(ValueError):
        sample.prepared("other", lambda s: s.rgb(64, 64))


def test_smooth_scaling_is_what_pil_bilinear_gives(tmp_path):
    """Models whose reference code resizes with PIL get PIL's antialiased bilinear, not the area filter."""
    import numpy as np
    from PIL import Image

    from tests.media import make_picture_clip

    texture = np.random.default_rng(3).integers(0, 256, (72, 128, 3), dtype=np.uint8)
    sample = next(iter(FrameSampler(make_picture_clip(tmp_path / "t.mp4", lambda t: texture, seconds=1), 2)))
    pil = np.asarray(Image.fromarray(sample.rgb(128, 72)).resize((40, 40), Image.Resampling.BILINEAR)).astype(int)
    # on noise, the hardest case: about 0.8 of 255 apart on average, the area filter about 8
    assert np.abs(sample.rgb(40, 40, smooth=True).astype(int) - pil).mean() < 1.5
    assert np.abs(sample.rgb(40, 40).astype(int) - pil).mean() > 4
