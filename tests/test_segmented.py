"""Segmented transfers against the loopback fake Hub: parallel Range requests to the CDN,
the in-order whole-file hash, the ranges record, fallbacks and per-segment retries.

The threshold is lowered through Policy (the product default stays 64 MiB), so files of
a few MiB cut into 1 MiB segments.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.download_support import payload, publish
from tests.fakehub import Fault
from video_censor_personal.errors import IntegrityError
from video_censor_personal.transfer.fetch import DeadOrigins, Policy, Wanted, fetch
from video_censor_personal.transfer.http import Source, origin_of
from video_censor_personal.transfer.ranges import SegmentTable, bytes_on_disk, ranges_path

MIB = 1 << 20
DATA = payload(8 * MIB, seed=11)
TOKEN = "hf_validtoken"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def model(fake_hub):
    return publish(fake_hub, "seg", {"model.onnx": DATA})


@pytest.fixture
def session():
    import requests

    with requests.Session() as s:
        yield s


def wanted_of(model) -> Wanted:
    f = model.file("model.onnx")
    return Wanted(model.name, model.repo, model.commit, f.path, f.url, f.size, f.sha256)


def run(model, part, session, connections=4, retries=3, progress=None, source=None):
    sleeps = Sleeps()
    policy = Policy(retries, 30, 1.0, sleeps, connections=connections, segmented_from=4 * MIB)
    fetched = fetch(wanted_of(model), [source or Source(model.file("model.onnx").url)], part, session=session,
                    policy=policy, dead=DeadOrigins(), progress=progress)
    return fetched, sleeps


def cdn_gets(hub):
    return [r for r in hub.requests if r.origin == "cdn" and r.method == "GET"]


def most_at_once(records) -> int:
    """The largest number of these requests that were being answered at the same moment."""
    events = sorted([(r.started, 1) for r in records] + [(r.finished, -1) for r in records])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def segment_ranges():
    return {f"bytes={start}-{start + MIB - 1}" for start in range(0, len(DATA), MIB)}


def test_segments_go_in_parallel_to_the_redirect_target(fake_hub, model, session, tmp_path):
    fake_hub.tokens = {TOKEN}
    fake_hub.cdn_rate = 4 * MIB  # per connection: one stream would take 2 s
    part = tmp_path / "x.part"
    fetched, _ = run(model, part, session, source=Source(model.file("model.onnx").url, TOKEN, origin_of(fake_hub.url)))
    assert part.read_bytes() == DATA and fetched == len(DATA) and not ranges_path(part).exists()
    assert most_at_once(cdn_gets(fake_hub)) == 4  # four connections at once, never more
    assert {r.range for r in cdn_gets(fake_hub)} == segment_ranges() and len(cdn_gets(fake_hub)) == 8
    hub = [r for r in fake_hub.requests if r.origin == "hub"]
    assert len(hub) == 1 and hub[0].token == TOKEN  # one resolve, not one per segment
    assert all(r.token is None for r in cdn_gets(fake_hub))


def test_a_range_answered_with_200_falls_back_to_one_stream(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("ignore_range", origin="cdn", times=None))
    part = tmp_path / "x.part"
    fetched, _ = run(model, part, session)
    assert part.read_bytes() == DATA and fetched == len(DATA) and not ranges_path(part).exists()
    assert [r.status for r in cdn_gets(fake_hub)] == [200]


SEGMENT_FAULTS = {
    "dropped": (Fault("short", origin="cdn", after=256 << 10), []),
    "reset": (Fault("drop", origin="cdn", after=256 << 10), [2.0]),
    "500": (Fault("status", origin="cdn", status=500), [2.0]),
    "429 with Retry-After": (Fault("status", origin="cdn", status=429, retry_after=1), [1.0]),
}


@pytest.mark.parametrize("fault,sleeps", SEGMENT_FAULTS.values(), ids=SEGMENT_FAULTS.keys())
def test_only_the_failed_segment_is_retried(fake_hub, model, session, tmp_path, fault, sleeps):
    fake_hub.add_fault(fault)
    part = tmp_path / "x.part"
    fetched, slept = run(model, part, session)
    assert part.read_bytes() == DATA
    gets = cdn_gets(fake_hub)
    assert len(gets) == 9  # eight segments, one of them asked twice
    if fault.kind == "status":
        assert slept == sleeps and fetched == len(DATA)
    else:  # the retry asks for the rest of that segment only
        assert slept in ([2.0], [])
        retried = [r.range for r in gets if r.fault is None and r.range not in segment_ranges()]
        assert len(retried) == 1 and not retried[0].startswith("bytes=0-")
        assert fake_hub.cdn_bytes_sent <= len(DATA) + (256 << 10)


def test_wrong_bytes_in_one_segment_are_caught_by_the_whole_file_hash(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("corrupt", origin="cdn", offset=1000))
    part = tmp_path / "x.part"
    run(model, part, session)
    assert part.read_bytes() == DATA and len(cdn_gets(fake_hub)) == 16  # once more from scratch


def test_a_whole_wrong_partial_file_is_not_resumed_nor_counted_as_the_retry(fake_hub, model, session, tmp_path):
    part = tmp_path / "x.part"
    part.write_bytes(bytes(len(DATA)))  # a killed run left the whole size, other bytes, no record
    fake_hub.add_fault(Fault("corrupt", origin="cdn", offset=1000))  # and the source errs once
    run(model, part, session)
    assert part.read_bytes() == DATA and len(cdn_gets(fake_hub)) == 16  # once more from scratch


def test_wrong_bytes_twice_is_integrity_error_and_leaves_nothing(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("corrupt", origin="cdn", times=None, offset=1000))
    part = tmp_path / "x.part"
    with pytest.raises(IntegrityError) as caught:
        run(model, part, session)
    expected = model.file("model.onnx").sha256
    assert f"expected {expected}, got " in caught.value.message
    assert not part.exists() and not ranges_path(part).exists()


class Interrupt:
    """Ctrl-C once `after` bytes came in (the progress call is where Ctrl-C reaches a transfer)."""

    def __init__(self, after: int):
        self.after, self.seen = after, 0

    def __call__(self, n: int, resumed: bool = False) -> None:
        self.seen += 0 if resumed else n
        if self.seen >= self.after:
            raise KeyboardInterrupt


def interrupted_part(fake_hub, model, session, tmp_path, at: int):
    fake_hub.cdn_rate = 4 * MIB
    part = tmp_path / "x.part"
    with pytest.raises(KeyboardInterrupt):
        run(model, part, session, progress=Interrupt(at))
    fake_hub.cdn_rate = None
    return part


def test_interrupted_download_keeps_its_ranges_and_fetches_only_the_rest(fake_hub, model, session, tmp_path):
    part = interrupted_part(fake_hub, model, session, tmp_path, at=3 * MIB)
    record = json.loads(ranges_path(part).read_text())
    done = bytes_on_disk(part, len(DATA))
    assert record["size"] == len(DATA) and 3 * MIB <= done < len(DATA)
    fake_hub.clear_requests()
    fetched, _ = run(model, part, session)
    assert fetched == len(DATA) - done == fake_hub.cdn_bytes_sent  # every byte on disk is kept
    assert part.read_bytes() == DATA and not ranges_path(part).exists()


def test_resume_with_one_connection_still_uses_the_record(fake_hub, model, session, tmp_path):
    part = interrupted_part(fake_hub, model, session, tmp_path, at=3 * MIB)
    done = bytes_on_disk(part, len(DATA))
    fake_hub.clear_requests()
    fetched, _ = run(model, part, session, connections=1)
    assert fetched == len(DATA) - done and part.read_bytes() == DATA


def test_an_expired_signed_url_during_resume_is_resolved_again_once(fake_hub, model, session, tmp_path):
    part = interrupted_part(fake_hub, model, session, tmp_path, at=2 * MIB)
    fake_hub.clear_requests()
    fake_hub.url_ttl = 1  # whole seconds: a URL expires within a second of being issued
    fake_hub.cdn_rate = MIB  # three rounds of 1 MiB segments on 2 connections: the last starts after expiry
    run(model, part, session, connections=2)
    assert part.read_bytes() == DATA
    expired = [r for r in cdn_gets(fake_hub) if r.status == 403]
    resolves = [r for r in fake_hub.requests if r.origin == "hub"]
    assert expired, "the test needs the URL to expire mid-download"
    assert len(resolves) <= 1 + len(expired)  # one resolve per expiry, never one per segment


def test_a_tampered_record_is_not_trusted(fake_hub, model, session, tmp_path):
    part = tmp_path / "x.part"
    part.write_bytes(b"\0" * len(DATA))
    ranges_path(part).write_text("{not json")
    assert SegmentTable.load(part, len(DATA)).done_bytes == 0
    fetched, _ = run(model, part, session)
    assert fetched == len(DATA) and hashlib.sha256(part.read_bytes()).hexdigest() == model.file("model.onnx").sha256


def test_segmented_downloader_speaks_poochs_protocol(fake_hub, model, session, tmp_path):
    import pooch

    from video_censor_personal.transfer.segmented import SegmentedDownloader

    locked = model.file("model.onnx")
    downloader = SegmentedDownloader(session, Source(locked.url), locked.size, 30, connections=4,
                                     policy=Policy(retries=0))
    path = pooch.retrieve(locked.url, known_hash=f"sha256:{locked.sha256}", path=tmp_path, fname="m.onnx",
                          downloader=downloader, progressbar=False)
    assert downloader.hasher.hexdigest() == locked.sha256 and len(cdn_gets(fake_hub)) == 8
    assert Path(path).read_bytes() == DATA
    assert downloader(locked.url, None, None, check_only=True) is True


def test_a_record_without_its_partial_file_is_not_trusted(fake_hub, model, session, tmp_path):
    part = interrupted_part(fake_hub, model, session, tmp_path, at=3 * MIB)
    part.unlink()  # `models gc`, or a user, removed the partial file but not its record
    assert bytes_on_disk(part, len(DATA)) == 0
    fake_hub.clear_requests()
    fetched, _ = run(model, part, session)
    assert fetched == len(DATA) and part.read_bytes() == DATA
    assert len(cdn_gets(fake_hub)) == 8  # no wasted whole-file retry


def test_an_http_mirror_is_segmented_too_and_never_sees_the_token(fake_hub, model, session, tmp_path):
    from video_censor_personal.transfer.fetch import expand_mirror

    mirror = Source(expand_mirror(fake_hub.mirror_url, wanted_of(model)))
    part = tmp_path / "x.part"
    fetched, _ = run(model, part, session, source=mirror)
    gets = [r for r in fake_hub.requests if r.origin == "mirror"]
    assert fetched == len(DATA) and part.read_bytes() == DATA
    assert {r.range for r in gets} == segment_ranges() and all(r.token is None for r in gets)


def test_a_source_that_stops_honouring_range_restarts_as_one_stream(fake_hub, model, session, tmp_path):
    part = interrupted_part(fake_hub, model, session, tmp_path, at=3 * MIB)
    fake_hub.clear_requests()
    fake_hub.add_fault(Fault("ignore_range", origin="cdn", times=None))
    fake_hub.add_fault(Fault("short", origin="cdn", after=2 * MIB))  # and the whole body breaks once
    fetched, _ = run(model, part, session)
    assert part.read_bytes() == DATA and not ranges_path(part).exists()
    assert [r.status for r in cdn_gets(fake_hub)] == [200, 200]
    assert fetched == len(DATA) + 2 * MIB  # what came over the network, the broken try included


def test_a_redirect_target_that_expired_on_the_way_is_resolved_once_more(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("status", origin="cdn", status=403))  # the first CDN URL is refused
    part = tmp_path / "x.part"
    fetched, _ = run(model, part, session)
    assert part.read_bytes() == DATA and fetched == len(DATA)
    assert fake_hub.count(origin="hub") == 2 and fake_hub.count(origin="cdn", status=403) == 1


def test_a_cdn_that_refuses_fresh_urls_too_fails_the_source(fake_hub, model, session, tmp_path):
    from video_censor_personal.errors import ResolutionError

    fake_hub.add_fault(Fault("status", origin="cdn", times=2, status=403))  # fresh URLs refused too
    with pytest.raises(ResolutionError):
        run(model, tmp_path / "x.part", session)
    assert fake_hub.count(origin="hub") == 2  # one resolve more, then the source has failed
