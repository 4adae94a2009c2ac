"""fetch.py against the loopback fake Hub: sources, retry policy, resume, token policy."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from tests.download_support import payload, publish
from tests.fakehub import Fault
from video_censor_personal.errors import IntegrityError, NetworkError, ResolutionError
from video_censor_personal.transfer.downloaders import ResumingDownloader, _Streaming
from video_censor_personal.transfer.fetch import (
    DeadOrigins,
    Policy,
    Wanted,
    expand_mirror,
    fetch,
    rewrite_origin,
    sources_for,
)
from video_censor_personal.transfer.hashing import BufferHasher
from video_censor_personal.transfer.http import Source, file_path_of, origin_of

TOKEN = "hf_validtoken"
DATA = payload(3 << 20, seed=1)


def wanted_of(model, path="model.onnx") -> Wanted:
    f = model.file(path)
    return Wanted(model.name, model.repo, model.commit, f.path, f.url, f.size, f.sha256)


@pytest.fixture
def model(fake_hub):
    return publish(fake_hub, "m", {"model.onnx": DATA, "config.json": b"{}"})


@pytest.fixture
def session():
    import requests

    with requests.Session() as s:
        yield s


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(wanted, sources, part, session, retries=3):
    sleeps = Sleeps()
    fetch(wanted, sources, part, session=session, policy=Policy(retries, 30, 1.0, sleeps), dead=DeadOrigins())
    return sleeps


# ---------------------------------------------------------------- pure helpers


def test_expand_mirror_templates_and_bare_directories():
    w = Wanted("m", "org/x", "c" * 40, "onnx/a b.onnx", "http://h/u", 1, "f" * 64)
    assert expand_mirror("https://m.example/{repo}/r/{commit}/{path}", w) == (
        f"https://m.example/org/x/r/{'c' * 40}/onnx/a%20b.onnx")
    assert expand_mirror("file:///srv/my%20mirror", w) == f"file:///srv/my%20mirror/blobs/{'f' * 64}"
    assert expand_mirror("https://m.example/", w) == f"https://m.example/org/x/resolve/{'c' * 40}/onnx/a%20b.onnx"
    assert file_path_of("file:///srv/my%20mirror/blobs/x") == Path("/srv/my mirror/blobs/x")


def test_endpoint_replaces_origin_and_token_origin_has_explicit_port():
    assert rewrite_origin("https://huggingface.co/o/r/resolve/c/f?x=1", "http://proxy:8080/hf/", "o/r") == (
        "http://proxy:8080/hf/o/r/resolve/c/f?x=1")
    assert rewrite_origin("http://proxy/hf/o/r/resolve/c/f", "https://huggingface.co", "o/r") == (
        "https://huggingface.co/o/r/resolve/c/f")
    assert rewrite_origin("https://cdn.example/odd/path", "http://proxy/hf", "o/r") == "http://proxy/odd/path"
    assert rewrite_origin("https://huggingface.co/o/r", None, "o/r") == "https://huggingface.co/o/r"
    assert origin_of("https://HuggingFace.co/x") == origin_of("https://huggingface.co:443/y")
    assert origin_of("http://127.0.0.1:1/x") != origin_of("http://127.0.0.1:2/x")


# ---------------------------------------------------------------- happy path and token


def test_lfs_file_via_cdn_token_only_on_hub_origin(fake_hub, model, session, tmp_path):
    fake_hub.tokens = {TOKEN}
    part = tmp_path / "x.part"
    run(wanted_of(model), [Source(model.file("model.onnx").url, TOKEN, origin_of(fake_hub.url))], part, session)
    assert hashlib.sha256(part.read_bytes()).hexdigest() == model.file("model.onnx").sha256
    hub_requests = [r for r in fake_hub.requests if r.origin == "hub"]
    cdn_requests = [r for r in fake_hub.requests if r.origin == "cdn"]
    assert [r.token for r in hub_requests] == [TOKEN]
    assert cdn_requests and all(r.token is None for r in cdn_requests)


def test_mirror_on_the_hub_origin_never_gets_the_token(fake_hub, model, session, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    from video_censor_personal.config import Settings
    from video_censor_personal.environment import build_runtime

    runtime = build_runtime(Settings(), cli_mirrors=(fake_hub.url + "/{repo}/resolve/{commit}/{path}",))
    wanted = wanted_of(model)
    fake_hub.add_fault(Fault("status", origin="hub", path="model.onnx", times=1, status=404))
    run(wanted, sources_for(wanted, runtime), tmp_path / "x.part", session)
    tokens = [r.token for r in fake_hub.requests if r.origin == "hub"]
    assert tokens == [TOKEN, None]  # the primary got it; the same URL as a mirror did not


def test_gated_repo_without_token_is_a_resolution_error(fake_hub, session, tmp_path):
    gated = publish(fake_hub, "g", {"w.bin": payload(1000)}, gated=True)
    with pytest.raises(ResolutionError) as caught:
        run(wanted_of(gated, "w.bin"), [Source(gated.file("w.bin").url)], tmp_path / "x.part", session)
    assert caught.value.exit_code == 2 and "gated" in caught.value.message and "HF_TOKEN" in caught.value.hint


# ---------------------------------------------------------------- retries


def test_retry_after_wins_over_backoff(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("status", origin="cdn", path="model.onnx", times=1, status=429, retry_after=1))
    fake_hub.add_fault(Fault("status", origin="cdn", path="model.onnx", times=2, status=503))
    sleeps = run(wanted_of(model), [Source(model.file("model.onnx").url)], tmp_path / "x.part", session)
    assert sleeps == [1.0, 4.0, 8.0]  # 429 said 1 s; then the 2nd and 3rd retries back off
    assert (tmp_path / "x.part").stat().st_size == len(DATA)


def test_retries_exhausted_is_network_error_and_keeps_partial(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("short", origin="cdn", path="model.onnx", times=None, after=256 << 10))
    with pytest.raises(NetworkError) as caught:
        run(wanted_of(model), [Source(model.file("model.onnx").url)], tmp_path / "x.part", session, retries=2)
    assert caught.value.exit_code == 3
    assert fake_hub.count(origin="cdn", method="GET") == 3
    assert (tmp_path / "x.part").stat().st_size == 3 * (256 << 10)  # kept: the next run resumes it


def test_404_moves_to_next_source_without_sleeping(fake_hub, model, session, tmp_path):
    wanted = wanted_of(model)
    fake_hub.add_fault(Fault("status", origin="cdn", path="model.onnx", times=1, status=404))
    mirror = Source(expand_mirror(fake_hub.mirror_url, wanted))
    sleeps = run(wanted, [Source(wanted.url), mirror], tmp_path / "x.part", session)
    assert sleeps == [] and fake_hub.count(origin="mirror") == 1


def test_refused_source_is_skipped_for_the_rest_of_the_run(fake_hub, model, session, tmp_path):
    wanted, dead = wanted_of(model), DeadOrigins()
    refused = Source("http://127.0.0.1:1/nothing")
    policy = Policy(3, 30, 1.0, Sleeps())
    fetch(wanted, [refused, Source(wanted.url)], tmp_path / "a.part", session=session, policy=policy, dead=dead)
    assert origin_of(refused.url) in dead and policy.sleep == []
    with pytest.raises(NetworkError) as caught:
        fetch(wanted, [refused], tmp_path / "b.part", session=session, policy=policy, dead=dead)
    assert "skipped" in caught.value.details[0]


# ---------------------------------------------------------------- wrong bytes


def test_wrong_bytes_retried_once_from_scratch(fake_hub, model, session, tmp_path):
    fake_hub.add_fault(Fault("corrupt", origin="cdn", path="model.onnx", times=1, offset=12345))
    run(wanted_of(model), [Source(model.file("model.onnx").url)], tmp_path / "x.part", session)
    assert [r.range for r in fake_hub.requests if r.origin == "cdn"] == [None, None]
    assert hashlib.sha256((tmp_path / "x.part").read_bytes()).hexdigest() == model.file("model.onnx").sha256


def test_wrong_bytes_twice_moves_on_and_everywhere_is_integrity_error(fake_hub, model, session, tmp_path):
    wanted = wanted_of(model)
    mirror = Source(expand_mirror(fake_hub.mirror_url, wanted))
    fake_hub.add_fault(Fault("corrupt", origin="any", path="model.onnx", times=None, offset=7))
    with pytest.raises(IntegrityError) as caught:
        run(wanted, [Source(wanted.url), mirror], tmp_path / "x.part", session)
    error = caught.value
    assert error.exit_code == 1 and wanted.sha256 in error.message and "got" in error.message
    assert fake_hub.count(origin="cdn", method="GET") == 2 and fake_hub.count(origin="mirror") == 2
    assert not (tmp_path / "x.part").exists()


# ---------------------------------------------------------------- resume and protocol


def test_resume_hashes_prefix_and_asks_only_for_the_rest(fake_hub, model, session, tmp_path):
    part = tmp_path / "x.part"
    part.write_bytes(DATA[: 1 << 20])
    run(wanted_of(model), [Source(model.file("model.onnx").url)], part, session)
    assert [r.range for r in fake_hub.requests if r.origin == "cdn"] == [f"bytes={1 << 20}-"]
    assert fake_hub.cdn_bytes_sent == len(DATA) - (1 << 20)
    assert part.read_bytes() == DATA


def test_resume_from_a_wrong_prefix_ends_with_one_fresh_download(fake_hub, model, session, tmp_path):
    part = tmp_path / "x.part"
    part.write_bytes(b"\0" * 1000)  # not the file's first bytes: the whole hash fails, then a fresh try
    run(wanted_of(model), [Source(model.file("model.onnx").url)], part, session)
    assert [r.range for r in fake_hub.requests if r.origin == "cdn"] == ["bytes=1000-", None]
    assert part.read_bytes() == DATA


def test_downloader_speaks_poochs_protocol(fake_hub, model, session, tmp_path):
    import pooch

    locked = model.file("model.onnx")
    downloader = ResumingDownloader(session, Source(locked.url), locked.size, 30)
    path = pooch.retrieve(locked.url, known_hash=f"sha256:{locked.sha256}", path=tmp_path, fname="m.onnx",
                          downloader=downloader, progressbar=False)
    assert Path(path).read_bytes() == DATA and downloader.hasher.hexdigest() == locked.sha256
    assert downloader(locked.url, None, None, check_only=True) is True


def test_large_file_hashed_on_a_second_thread_survives_a_drop(fake_hub, session, tmp_path):
    data = payload(20 << 20, seed=9)  # above HashingThread.THRESHOLD: the threaded path
    big = publish(fake_hub, "big", {"w.onnx": data})
    fake_hub.add_fault(Fault("drop", origin="cdn", path="w.onnx", after=7 << 20))
    part = tmp_path / "x.part"
    run(wanted_of(big, "w.onnx"), [Source(big.file("w.onnx").url)], part, session)
    assert hashlib.sha256(part.read_bytes()).hexdigest() == big.file("w.onnx").sha256
    assert fake_hub.count(origin="cdn", method="GET") == 2


def test_file_mirror_without_the_file_moves_on(fake_hub, model, session, tmp_path):
    wanted = wanted_of(model)
    empty_export = Source(expand_mirror((tmp_path / "empty").as_uri(), wanted))
    sleeps = run(wanted, [empty_export, Source(wanted.url)], tmp_path / "x.part", session)
    assert sleeps == [] and (tmp_path / "x.part").read_bytes() == DATA


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a real full device)")
def test_a_full_disk_while_copying_from_a_file_mirror_is_a_disk_error_not_the_mirrors(model, session, tmp_path):
    wanted = wanted_of(model)
    export = tmp_path / "export" / "blobs"
    export.mkdir(parents=True)
    (export / wanted.sha256).write_bytes(DATA)
    mirror = Source(expand_mirror((tmp_path / "export").as_uri(), wanted))
    with pytest.raises(OSError) as caught:  # model_manager makes it DiskSpaceError, exit 4
        run(wanted, [mirror], Path("/dev/full"), session)
    assert caught.value.errno == errno.ENOSPC  # not "cannot read" the mirror (exit 3)


def test_more_bytes_than_the_lock_says_is_wrong_bytes(fake_hub, model, session, tmp_path):
    wanted = wanted_of(model)
    shorter = Wanted(wanted.model, wanted.repo, wanted.commit, wanted.path, wanted.url, wanted.size - 1,
                     wanted.sha256)
    with pytest.raises(IntegrityError):
        run(shorter, [Source(wanted.url)], tmp_path / "x.part", session)
    assert fake_hub.count(origin="cdn", method="GET") == 2 and not (tmp_path / "x.part").exists()


def test_hashing_thread_only_for_a_lone_big_transfer():
    chunks = [payload(1 << 20, seed=n) for n in range(3)]
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()
    big = 16 << 20
    with _Streaming(big) as lone, _Streaming(big) as second, _Streaming(big - 1) as small:
        assert lone and not second and not small  # a second stream, and a small one, hash inline
    for threaded in (True, False):
        hasher = BufferHasher(threaded=threaded)
        for chunk in chunks:
            buffer = hasher.buffer()
            buffer[: len(chunk) // 4] = chunk[: len(chunk) // 4]
            hasher.submit(buffer, len(chunk) // 4)
        hasher.close()
        assert hasher.threaded is False or threaded
    assert expected  # the digest of the parts is checked below, byte for byte
    reference = hashlib.sha256(b"".join(c[: len(c) // 4] for c in chunks)).hexdigest()
    assert hasher.hasher.hexdigest() == reference


def test_a_source_of_an_unknown_scheme_moves_on_to_the_next(fake_hub, model, session, tmp_path):
    wanted = wanted_of(model)
    sleeps = run(wanted, [Source("ftp://mirror.example/blobs/x"), Source(wanted.url)], tmp_path / "x.part", session)
    assert sleeps == [] and (tmp_path / "x.part").read_bytes() == DATA
