"""S3 buckets (AWS, MinIO, Ceph, R2: any S3-compatible store) as mirrors and export targets.

    s3://BUCKET/PREFIX                           what `models export s3://BUCKET/PREFIX` writes
    ├── PREFIX/models.lock                       written last: a reader that sees it sees every blob
    └── PREFIX/blobs/<sha256>                    every locked file, named by its content

    S3Downloader(size, timeout, progress)        pooch's downloader protocol for s3:// sources:
                                                 ranged GETs resumed from the partial file,
                                                 sha256 taken in-stream, failures as TransferFailure
    export_to_bucket(url, blobs, lock_text, t)   upload what the bucket lacks, hashed as it goes

fsspec and s3fs (the optional `s3` extra) are imported here only, and only once an s3://
URL is used, so `--help` and a no-op run never load them (nor botocore, nor aiohttp).
Credentials come from the standard AWS chain that botocore reads (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the config files, instance roles); AWS_ENDPOINT_URL,
read by botocore itself, points it at another store. The Hub token never reaches this module.

Retries: botocore's and s3fs's own retry loops are switched off, so the retry policy of
transfer/fetch.py (backoff 2/4/8 s) is the only one, and a refused endpoint is skipped at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

from video_censor_personal.cache import CHUNK
from video_censor_personal.errors import IntegrityError, NetworkError, UsageError
from video_censor_personal.transfer.downloaders import TransferFailure, hash_prefix, no_progress

INSTALL_HINT = "pip install 'video-censor-personal[s3]'"
BLOCK = 8 * CHUNK  # one ranged GET per 8 MiB: few requests, flat memory
CREDENTIALS = "check the AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"


def bucket_of(url: str) -> str:
    return urlsplit(url).netloc


def filesystem(timeout: float):
    """An s3fs filesystem for the AWS settings now in the environment (one per set of them)."""
    try:
        import s3fs  # noqa: F401 - only to know whether the extra is there
    except ImportError:
        raise UsageError(
            "s3:// URLs need the optional `s3` extra (fsspec and s3fs), which is not installed",
            hint=f"install it: {INSTALL_HINT}",
        ) from None
    aws = tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_")))
    return _filesystem(timeout, aws)


@functools.lru_cache(maxsize=8)
def _filesystem(timeout: float, aws_environment: tuple):
    """Built once per timeout and AWS environment (a client costs ~0.1 s to set up).

    fsspec's own instance cache is keyed by arguments only, so a change of credentials in
    the environment would reuse a filesystem signed with the old ones: ours keys by both.
    """
    import s3fs

    retries_off = {"total_max_attempts": 1}  # fetch.py's policy is the one retry loop
    fs = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, config_kwargs={
        "retries": retries_off, "connect_timeout": timeout, "read_timeout": timeout})
    fs.retries = 1  # s3fs's own loop (its class attribute says 5)
    return fs


@contextlib.contextmanager
def translated(url: str):
    """s3fs / botocore exceptions -> TransferFailure, never with a secret or a signature in it."""
    import botocore.exceptions as boto

    bucket = bucket_of(url)
    try:
        yield
    except FileNotFoundError as exc:
        raise TransferFailure("not-found", _not_found_reason(exc, bucket, url)) from None
    except PermissionError:
        raise TransferFailure("credentials", f"access denied to bucket {bucket}: {CREDENTIALS}") from None
    except boto.NoCredentialsError:
        raise TransferFailure("credentials", f"no AWS credentials found for bucket {bucket}: {CREDENTIALS}") from None
    except boto.EndpointConnectionError:
        raise TransferFailure("unreachable", f"cannot connect to the S3 endpoint of bucket {bucket}") from None
    except (boto.BotoCoreError, OSError, TimeoutError) as exc:
        raise TransferFailure("network", f"S3 request failed: {type(exc).__name__}", retry=True) from None


def _not_found_reason(exc: FileNotFoundError, bucket: str, url: str) -> str:
    return f"bucket {bucket} does not exist" if _bucket_missing(exc) else f"{url} does not exist"


def _bucket_missing(exc: FileNotFoundError) -> bool:
    """s3fs raises FileNotFoundError for NoSuchBucket and NoSuchKey alike; the cause tells which."""
    response = getattr(exc.__cause__, "response", None) or {}
    return response.get("Error", {}).get("Code") == "NoSuchBucket"


class S3Downloader:
    """A pooch downloader for `s3://BUCKET/KEY`: resumed by Range, hashed as it streams.

    Called as pooch calls downloaders: `downloader(url, output_file, pooch)`. Bytes already
    in `output_file` are hashed first and kept; the rest comes in ranged GETs of BLOCK
    bytes, each one asked for while the one before is written and hashed (two blocks in
    memory at most). s3fs's file objects read block after block with a wait between, and
    fsspec's prefetching caches align blocks to the object's start, which would fetch a
    resumed prefix again: hence this small loop. An object whose size is not the locked
    size is refused before any byte is read.
    """

    def __init__(self, size: int, timeout: float, progress=None):
        self.size, self.timeout = size, timeout
        self.progress = progress or no_progress
        self.hasher = hashlib.sha256()

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        fs = filesystem(self.timeout)
        if check_only:
            with translated(url):
                return fs.exists(url)
        path = Path(output_file)
        offset = hash_prefix(path, self.size, self.hasher, self.progress)
        with translated(url):
            size = fs.info(url)["size"]
        if size != self.size:
            raise TransferFailure("integrity", f"the object is {size} bytes, the lock says {self.size}")
        with open(path, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            self._copy(fs, url, out, offset)
        return None

    def _copy(self, fs, url: str, out, received: int) -> None:
        """Reading errors are transfer failures; a failed write (a full disk) stays an OSError."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="s3-read-ahead") as ahead:
            pending = self._ask(ahead, fs, url, received)
            while pending is not None:
                with translated(url):
                    block = pending.result()
                if not block:
                    raise TransferFailure("network", f"short body: {received} of {self.size} bytes", retry=True)
                received += len(block)
                pending = self._ask(ahead, fs, url, received)
                out.write(block)
                self.hasher.update(block)
                self.progress(len(block))

    def _ask(self, ahead, fs, url: str, start: int):
        if start >= self.size:
            return None
        return ahead.submit(fs.cat_file, url, start=start, end=min(start + BLOCK, self.size))


# ---------------------------------------------------------------- export


def export_to_bucket(url: str, blobs: list[tuple[str, int, Path]], lock_text: str, timeout: float) -> int:
    """`models export s3://BUCKET/PREFIX`: each (sha256, size, local file) as PREFIX/blobs/<sha256>.

    A blob already there with the right size is skipped; the rest are hashed as they are
    uploaded and committed only when the hash matches. models.lock goes last. Returns the
    number of bytes uploaded.
    """
    fs, base = filesystem(timeout), url.rstrip("/")
    with _export_errors(base):
        there = _sizes_in_bucket(fs, f"{base}/blobs")
        copied = sum(_put_blob(fs, f"{base}/blobs/{sha256}", sha256, size, local)
                     for sha256, size, local in blobs if there.get(sha256) != size)
        fs.pipe_file(f"{base}/models.lock", lock_text.encode("utf-8"))
    return copied


def _sizes_in_bucket(fs, prefix: str) -> dict[str, int]:
    """sha256 -> size of the blobs already exported: one listing, not a HEAD (and a LIST) per blob."""
    try:
        entries = fs.ls(prefix, detail=True)
    except FileNotFoundError as exc:
        if _bucket_missing(exc):
            raise
        return {}  # nothing exported under this prefix yet
    return {entry["name"].rsplit("/", 1)[-1]: entry["size"] for entry in entries}


def _put_blob(fs, key: str, sha256: str, size: int, local: Path) -> int:
    hasher, remote = hashlib.sha256(), fs.open(key, "wb")
    try:
        with open(local, "rb") as source:
            while chunk := source.read(CHUNK):
                hasher.update(chunk)
                remote.write(chunk)
        if hasher.hexdigest() != sha256:
            raise IntegrityError(f"{local}: sha256 {hasher.hexdigest()}, expected {sha256}; not exported",
                                 hint="run `video-censor models verify`, then `video-censor --download-models`")
    except BaseException:
        remote.discard()  # aborts a multipart upload; a small one was never sent
        remote.closed = True  # nothing left to flush
        raise
    remote.close()
    return size


@contextlib.contextmanager
def _export_errors(url: str):
    """The download side's failure kinds, as the errors `models export` exits with."""
    try:
        with translated(url):
            yield
    except TransferFailure as failure:
        if failure.kind in ("not-found", "credentials"):
            raise UsageError(f"cannot export to {url}: {failure.reason}",
                             hint="create the bucket, or check AWS_ENDPOINT_URL and the AWS credentials") from None
        raise NetworkError(f"cannot export to {url}: {failure.reason}",
                           hint="check AWS_ENDPOINT_URL and the network, then run the same command again: "
                           "blobs already there are skipped") from None
