"""pooch-protocol downloaders: one transfer from one URL into a file, hashed as it streams.

    downloader(url, output_file, pooch)        the call pooch makes (pooch.retrieve works too)
    ├── ResumingDownloader                     http(s), one stream: Range resume, redirects,
    │                                          token policy
    ├── SegmentedDownloader (segmented.py)     http(s), large files: parallel Range requests
    └── FileDownloader                         file:// mirrors (a `models export` directory)

Why these are ours and not `pooch.HTTPDownloader`: pooch hashes the finished file in a
second pass (`hash_matches` after the download, about 0.8 s per GiB here), which alone
costs more than the network does on a fast link. Ours compute the sha256 in-stream, on a
second thread (hashing.py), so the digest is ready when the last byte lands. They also
resume: whatever `output_file` already holds is kept and only the rest is asked for with
an HTTP Range request (pooch deletes its temp file on any failure, and has no resume).

Every downloader takes `progress(n, resumed=False)`: n bytes received from the network,
or (resumed=True) found already on disk, which count toward the total but not the speed.
A failed transfer raises TransferFailure, which says whether a retry may help; fetch.py
turns those into the retry policy and, in the end, into our errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path

from video_censor_personal.cache import CHUNK, sha256_file
from video_censor_personal.transfer.hashing import BufferHasher
from video_censor_personal.transfer.http import (
    HttpClient,
    Source,
    TransferFailure,
    body_stream,
    file_path_of,
    read_into,
    resumes_at,
)

THREADED_FROM = 16 << 20  # smaller files hash inline: a thread costs more than it saves


def no_progress(n: int, resumed: bool = False) -> None:
    pass


class ResumingDownloader:
    """A pooch downloader over HTTP(S), one stream, that resumes and hashes in-stream.

    Called as pooch calls downloaders: `downloader(url, output_file, pooch)`. Bytes already
    in `output_file` are hashed first and kept; the rest comes with `Range: bytes=N-`.
    `fetched` counts the bytes that really came over the network.
    """

    def __init__(self, session, source: Source, size: int, timeout: float, progress=None):
        self.http = HttpClient(session, source, timeout)
        self.size, self.progress = size, progress or no_progress
        self.hasher = hashlib.sha256()
        self.fetched = 0

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        if check_only:
            response, _ = self.http.open(url, method="HEAD")
            return response.status_code == 200
        path = Path(output_file)
        offset = hash_prefix(path, self.size, self.hasher, self.progress)
        response, _ = self.http.open(url, first=offset)
        self.receive(response, path, offset)
        return None

    def receive(self, response, path: Path, offset: int) -> None:
        """Write `response`'s body into `path` from `offset` (0 when the server ignored Range)."""
        if offset and not resumes_at(response, offset):  # Range ignored or moved: start over
            self.progress(-offset, resumed=True)
            self.hasher, offset = hashlib.sha256(), 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | (0 if offset else os.O_TRUNC), 0o644)
        try:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            self._copy(response, fd, offset)
        finally:
            os.close(fd)


    def _copy(self, response, fd: int, offset: int) -> None:
        """Receive into preallocated buffers, write each, hash it on a second thread.

        Only reading errors are transfer failures; a failed write (a full disk) is not
        something a retry fixes, so it propagates as the OSError it is.
        """
        stream, received = body_stream(response), offset
        with _Streaming(self.size - offset) as threaded:
            hasher = BufferHasher(self.hasher, threaded)
            try:
                while received < self.size:
                    buffer = hasher.buffer()
                    view = memoryview(buffer)[: min(len(buffer), self.size - received)]
                    n = read_into(stream, view, received)
                    if not n:
                        hasher.give_back(buffer)
                        break
                    _write_all(fd, view[:n])
                    hasher.submit(buffer, n)
                    received += n
                    self.fetched += n
                    self.progress(n)
            finally:
                hasher.close()
        if received < self.size:
            raise TransferFailure("network", f"short body: {received} of {self.size} bytes", retry=True)
        if read_into(stream, memoryview(bytearray(1)), received):
            raise TransferFailure("integrity", f"more bytes than the locked size {self.size}")
        response.raw.release_conn()  # body read to the end: the connection goes back to the pool


def hash_prefix(path: Path, size: int, hasher, progress) -> int:
    """What a broken transfer left in `path`: fed to `hasher`, reported as resumed, kept.

    Returns the offset to resume from: 0 when there is no file, or when it is not shorter
    than the locked `size` (complete or too long: nothing to resume, fetch it whole).
    """
    try:
        offset = path.stat().st_size
    except FileNotFoundError:
        return 0
    if offset >= size:
        return 0
    sha256_file(path, hasher, lambda n: progress(n, resumed=True))
    return offset


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view):]


class _Streaming:
    """Whether this transfer gets a hashing thread: only when it is the only big one.

    On two cores a second thread takes sha256 (about 0.8 s per GiB) off the critical path
    of a lone download; when other transfers are already streaming, the cores are busy
    anyway and an extra thread per file only adds GIL hand-offs (measured: more CPU, no
    gain), so those hash inline.
    """

    count = 0
    _lock = threading.Lock()

    def __init__(self, expected_bytes: int):
        self.expected_bytes = expected_bytes

    def __enter__(self) -> bool:
        with _Streaming._lock:
            alone = _Streaming.count == 0
            _Streaming.count += 1
        return alone and self.expected_bytes >= THREADED_FROM

    def __exit__(self, *exc) -> None:
        with _Streaming._lock:
            _Streaming.count -= 1


class FileDownloader:
    """The same protocol for `file://` mirrors (an export directory): a hashed copy."""

    def __init__(self, size: int, progress=None):
        self.size, self.progress = size, progress or no_progress
        self.hasher = hashlib.sha256()
        self.fetched = 0

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        source = file_path_of(url)
        if check_only:
            return source.is_file()
        with _reading(source):
            src = open(source, "rb")  # noqa: SIM115 - closed by the `with` below
        with src, open(output_file, "wb") as out:
            while chunk := _read(src, source):
                out.write(chunk)
                self.hasher.update(chunk)
                self.fetched += len(chunk)
                self.progress(len(chunk))
        return None


@contextlib.contextmanager
def _reading(source: Path):
    """Errors reading a file:// source are the source's failure (the next source may have
    the file); a failed write (a full disk) is not, and propagates as the OSError it is."""
    try:
        yield
    except FileNotFoundError:
        raise TransferFailure("not-found", f"{source} does not exist") from None
    except OSError as exc:
        raise TransferFailure("network", f"cannot read {source}: {exc.strerror}") from None


def _read(src, source: Path) -> bytes:
    with _reading(source):
        return src.read(CHUNK)
