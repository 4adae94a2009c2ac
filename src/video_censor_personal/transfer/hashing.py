"""sha256 off the receiving thread, in the file's order, with memory that stays flat.

    BufferHasher   single stream: the receiver fills small preallocated buffers, writes
                   them, and hands them to a second thread that hashes and returns them
    FileHasher     segmented: segments land out of order, so a second thread hashes the
                   file itself, in order, as far as the bytes are contiguous (they were
                   just written: it reads them back from the page cache, not the disk)

Why buffers of 256 KiB: a buffer is written and hashed while it is still in the CPU's
L2 cache (4 MiB here), so each byte crosses main memory once on its way in; with 1 MiB
chunks as new bytes objects, profiling showed allocation and cache misses where the
time went. hashlib and file writes release the GIL, so the two threads run on two cores.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading

BUFFER = 256 << 10
RING = 16  # buffers in flight: 4 MiB, whatever the file size


class BufferHasher:
    """Hands buffers to the receiver and hashes the filled ones on a second thread.

    `threaded=False` hashes inline: when other transfers already keep the cores busy, an
    extra thread per file only adds GIL hand-offs (measured: more CPU, no gain).
    """

    def __init__(self, hasher=None, threaded: bool = True):
        self.hasher = hasher or hashlib.sha256()
        self._free: queue.Queue = queue.Queue()
        for _ in range(RING if threaded else 1):
            self._free.put(bytearray(BUFFER))
        self._filled: queue.Queue | None = queue.Queue() if threaded else None
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True) if threaded else None
        if self._thread:
            self._thread.start()

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def buffer(self) -> bytearray:
        """A free buffer (waits while all are queued for hashing: memory stays bounded)."""
        return self._free.get()

    def submit(self, buffer: bytearray, n: int) -> None:
        """Hash buffer[:n] (after every buffer submitted before it), then free it."""
        if self._filled is None:
            self.hasher.update(memoryview(buffer)[:n])
            self._free.put(buffer)
        else:
            self._filled.put((buffer, n))

    def give_back(self, buffer: bytearray) -> None:
        """A buffer that was taken but not filled."""
        self._free.put(buffer)

    def _run(self) -> None:
        while (item := self._filled.get()) is not None:
            buffer, n = item
            self.hasher.update(memoryview(buffer)[:n])
            self._free.put(buffer)

    def close(self) -> None:
        """Every submitted buffer is hashed before anyone reads the digest."""
        if self._thread:
            self._filled.put(None)
            self._thread.join()
            self._thread = None


class FileHasher:
    """sha256 of `fd`'s first `size` bytes, taken in order as `reached(n)` says they exist.

    The downloader calls `reached(frontier)` whenever the contiguous prefix on disk grows;
    this thread reads and hashes up to it, so the digest is ready almost as soon as the
    last segment lands (no second full pass). `hashed` is how far it got.
    """

    def __init__(self, fd: int, size: int):
        self.fd, self.size, self.hashed = fd, size, 0
        self.hasher = hashlib.sha256()
        self._frontier, self._stop, self._abort = 0, False, False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sha256-file", daemon=True)
        self._thread.start()

    def reached(self, frontier: int) -> None:
        with self._changed:
            if frontier > self._frontier:
                self._frontier = frontier
                self._changed.notify()

    def _run(self) -> None:
        buffer = bytearray(BUFFER)
        view = memoryview(buffer)
        while (frontier := self._wait()) is not None:
            while self.hashed < frontier and not self._abort:
                n = os.preadv(self.fd, [view[: min(BUFFER, frontier - self.hashed)]], self.hashed)
                if n <= 0:  # the file is shorter than the record says: the digest will not match
                    return
                self.hasher.update(view[:n])
                self.hashed += n

    def _wait(self) -> int | None:
        with self._changed:
            while not self._stop and self._frontier <= self.hashed:
                self._changed.wait()
            done = self._abort or (self._stop and self._frontier <= self.hashed)
            return None if done else self._frontier

    def finish(self) -> str:
        """Wait until everything reached is hashed; the digest."""
        self.stop()
        return self.hasher.hexdigest()

    def stop(self, abort: bool = False) -> None:
        """End the thread: after hashing what was reached, or at once (`abort`)."""
        with self._changed:
            self._stop, self._abort = True, abort
            self._changed.notify()
        self._thread.join()
