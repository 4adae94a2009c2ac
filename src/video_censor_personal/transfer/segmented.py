"""Large files over several parallel Range requests, hashed whole and in order as they land.

    SegmentedDownloader(url, part)          pooch's downloader protocol, like the others
    ├── first request through the primary URL: follows the Hub's redirect; a 200 instead
    │   of a 206 means the source ignores Range, and the body is taken as one stream
    ├── up to `connections` workers, each claiming the next unfinished segment (in file
    │   order) and asking the redirect target for the rest of it; bytes go to their
    │   offsets in the partial file (pwrite), the record (ranges.py) follows them
    ├── FileHasher: sha256 of the file in order, as far as the bytes are contiguous
    └── a 403/410 from the redirect target (an expired signed URL) re-resolves through
        the primary URL once; other failures retry that segment alone, with the backoff

Why segments are claimed in order rather than split N ways: the hash must read the file
in order, and with N equal parts it could only start on part 2 once part 1 is done, i.e.
after the last byte. Claimed in order, the contiguous prefix trails the newest bytes by
about `connections` segments, so the digest is ready soon after the last byte lands.
Why workers of our own rather than an executor: each keeps its connection (a requests
session) for all the segments it claims.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from video_censor_personal.transfer.downloaders import ResumingDownloader, no_progress
from video_censor_personal.transfer.hashing import BUFFER, FileHasher
from video_censor_personal.transfer.http import (
    HttpClient,
    Source,
    TransferFailure,
    body_stream,
    discard,
    new_session,
    read_into,
    resumes_at,
)
from video_censor_personal.transfer.ranges import SegmentTable


class _Target:
    """Where segments are asked for: the primary URL's redirect target, re-resolved when it expires."""

    def __init__(self, primary: str, url: str):
        self.primary, self.url, self.generation = primary, url, 0
        self._lock = threading.Lock()

    def current(self) -> tuple[str, int]:
        with self._lock:
            return self.url, self.generation

    def refresh(self, client: HttpClient, generation: int, first: int, last: int):
        """A response for first..last: through the primary URL if nobody has re-resolved
        since `generation`, else from the new target (no second refresh for this request)."""
        with self._lock:
            if generation == self.generation:
                response, self.url = client.open(self.primary, first, last)
                self.generation += 1
                return response
            url = self.url
        return client.open(url, first, last)[0]


class SegmentedDownloader:
    """A pooch downloader over HTTP(S) that fetches one file over parallel Range requests.

    `fetched` counts the bytes that really came over the network (not the resumed ones);
    `hasher` holds the sha256 of the whole file once the call returns.
    """

    def __init__(self, session, source: Source, size: int, timeout: float, *, connections: int, policy,
                 progress=None):
        self.session, self.source, self.size, self.timeout = session, source, size, timeout
        self.connections, self.policy = connections, policy
        self.progress = progress or no_progress
        self.hasher = None
        self.target: _Target | None = None
        self.fetched = 0
        self._count_lock, self._stop = threading.Lock(), threading.Event()
        self._errors: list[BaseException] = []

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        client = HttpClient(self.session, self.source, self.timeout)
        if check_only:
            return client.open(url, method="HEAD")[0].status_code == 200
        part = Path(output_file)
        table = SegmentTable.load(part, self.size)
        self.progress(table.done_bytes, resumed=True)
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._run(client, url, table, fd)
        finally:
            os.close(fd)
        return None

    def _run(self, client: HttpClient, url: str, table: SegmentTable, fd: int) -> None:
        table.save()  # a record exists before any byte lands at an offset
        hasher = FileHasher(fd, self.size)
        hasher.reached(table.frontier)
        try:
            first = table.claim()
            if first is not None:
                segment = table.segments[first]
                response, final = _resolve(client, url, segment.done, segment.end - 1)
                if response.status_code == 200:
                    hasher.stop(abort=True)
                    return self._one_stream(response, table)
                _check_range(response, segment.done)
                self.target = _Target(url, final)
                self._workers(table, fd, hasher, first, response)
            hasher.finish()
            self.hasher = hasher.hasher
            table.forget()
        finally:
            hasher.stop(abort=True)
            if table.part.exists() and not table.complete:
                table.save()

    def _one_stream(self, response, table: SegmentTable) -> None:
        """The source ignores Range: its 200 carries the whole file, taken as one stream."""
        self.progress(-table.done_bytes, resumed=True)
        os.truncate(table.part, 0)  # first, so that no moment has old segments without their record
        table.abandon()
        single = ResumingDownloader(self.session, self.source, self.size, self.timeout, self.progress)
        try:
            single.receive(response, table.part, 0)
        finally:
            self.fetched += single.fetched
        self.hasher = single.hasher

    def _workers(self, table: SegmentTable, fd: int, hasher: FileHasher, first: int, response) -> None:
        unfinished = sum(1 for s in table.segments if not s.complete)
        threads = [threading.Thread(target=self._work, args=(table, fd, hasher, first, response, self.session),
                                    name="segment-0", daemon=True)]
        for n in range(1, min(self.connections, unfinished)):
            threads.append(threading.Thread(target=self._work, args=(table, fd, hasher, None, None, None),
                                            name=f"segment-{n}", daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
        if not table.complete:
            raise TransferFailure("network", "segments ended before the file was complete", retry=True)

    def _work(self, table, fd, hasher, index, response, session) -> None:
        """One connection: segments in file order until none is left (or another failed)."""
        own = session is None
        client = HttpClient(session or new_session(), self.source, self.timeout)
        try:
            while not self._stop.is_set() and (index is not None or (index := table.claim()) is not None):
                try:
                    self._segment(client, table, fd, hasher, index, response)
                finally:
                    table.release(index)
                index, response = None, None
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread, which raises it
            self._errors.append(error)
            self._stop.set()
        finally:
            if own:
                client.session.close()

    def _segment(self, client, table, fd, hasher, index: int, response) -> None:
        """One segment to its end; a failure retries it alone with the backoff policy."""
        attempt = 0
        while True:
            try:
                if response is None:
                    response = self._open(client, table.segments[index])
                self._receive(response, table, fd, hasher, index)
                return
            except TransferFailure as failure:
                response = None
                if not failure.retry or attempt >= self.policy.retries:
                    failure.retry = False  # this segment had its retries: the whole attempt failed
                    raise
                self.policy.pause(attempt, failure.retry_after)
                attempt += 1

    def _open(self, client: HttpClient, segment):
        url, generation = self.target.current()
        try:
            response, _ = client.open(url, segment.done, segment.end - 1)
        except TransferFailure as failure:
            if failure.status not in (403, 410) or url == self.target.primary:
                raise
            response = self.target.refresh(client, generation, segment.done, segment.end - 1)
        _check_range(response, segment.done)
        return response

    def _receive(self, response, table: SegmentTable, fd: int, hasher: FileHasher, index: int) -> None:
        segment, stream = table.segments[index], body_stream(response)
        view = memoryview(bytearray(BUFFER))
        while segment.done < segment.end:
            if self._stop.is_set():
                response.close()
                return
            n = read_into(stream, view[: min(BUFFER, segment.end - segment.done)], segment.done)
            if not n:
                raise TransferFailure("network", f"short body at byte {segment.done}", retry=True)
            _pwrite_all(fd, view[:n], segment.done)
            table.advance(index, n)
            self._count(n)
            hasher.reached(table.frontier)
            table.save(force=False)
        response.raw.release_conn()

    def _count(self, n: int) -> None:
        with self._count_lock:
            self.fetched += n
        self.progress(n)


def _resolve(client: HttpClient, primary: str, first: int, last: int):
    """(response, redirect target) for the first segment; a target that refuses at once
    (403/410: its signed URL expired on the way) is resolved once more."""
    try:
        return client.open(primary, first, last)
    except TransferFailure as failure:
        if failure.status not in (403, 410) or failure.url in (None, primary):
            raise
        return client.open(primary, first, last)


def _check_range(response, first: int) -> None:
    """The answer must start where the segment asked; anything else is retried."""
    if not resumes_at(response, first):
        discard(response)
        raise TransferFailure("network", f"HTTP {response.status_code} to a Range request", retry=True)


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written

