"""How fast an s3:// mirror and `models export s3://` are against boto3's own transfers.

A moto S3 server (`python -m moto.server`, its own process, on 127.0.0.1) holds one bucket.
One locked file (default 256 MiB, random bytes) is:

- exported: `video-censor models export s3://bench/runN` (hashed in-stream, multipart above
  50 MiB) against `boto3 upload_file` of the same file in a fresh process (s3transfer: 8 MiB
  parts on 10 threads, no hashing);
- downloaded: `video-censor --mirror s3://bench/run0 --download-models` into an empty cache
  (ranged GETs of 8 MiB, hashed in-stream, verified, renamed into the cache) against
  `boto3 download_file` in a fresh process (ranged GETs on 10 threads, no hashing).

The lock's primary URL is a closed port on 127.0.0.1, so it is skipped at once. Each line is
the median and range of the wall times of `--repeat` interleaved runs (theirs, ours, theirs,
...), the ratio ours/theirs of the medians, and the peak RSS of our process (memory stays flat
whatever the size). Both sides pay moto's cost, which dominates on loopback: the ratio says what
our client adds, not what a real store would give. Print `cat /proc/loadavg` beside it.

    python benchmarks/s3_bench.py [--size-mib 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.download_support import write_lock  # noqa: E402
from video_censor_personal.lockfile import LockedFile, LockedModel, resolve_url  # noqa: E402

MIB = 1 << 20
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
BOTO = ("import boto3, sys; s3 = boto3.client('s3'); "
        "getattr(s3, sys.argv[1])(*sys.argv[2:])")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto(port: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto server did not start")


# Our CLI under a wrapper that prints the process's own peak RSS (VmHWM) at exit: ru_maxrss from
# wait4 also counts the pages a forked child shared with this process before its exec.
OURS = ("import atexit, runpy, sys; atexit.register(lambda: sys.stderr.write(next(line for line in "
        "open('/proc/self/status') if line.startswith('VmHWM')))); sys.argv[0] = 'video-censor'; "
        "runpy.run_module('video_censor_personal', run_name='__main__')")


def timed(argv: list[str], env: dict, cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB, 0 when not reported) of one child; fails loudly on a non-zero exit."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr}")
    peak = [int(line.split()[1]) // 1024 for line in done.stderr.splitlines() if line.startswith("VmHWM")]
    return seconds, peak[0] if peak else 0


def project(work: Path, size: int) -> tuple[Path, str]:
    """A lock of one random file, and an export directory holding it (to fill the cache from)."""
    data = os.urandom(size)
    sha256 = hashlib.sha256(data).hexdigest()
    (work / "export" / "blobs").mkdir(parents=True)
    (work / "export" / "blobs" / sha256).write_bytes(data)
    (work / "model.bin").write_bytes(data)
    commit = "0" * 40
    url = resolve_url("http://127.0.0.1:9", "bench/model", commit, "model.bin")
    locked = LockedFile("model.bin", url, size, sha256)
    model = LockedModel("model", "bench/model", "main", ("*",), (), commit, (locked,))
    write_lock(work / "models.lock", model)
    return work / "model.bin", sha256


def summary(name: str, theirs: list[float], ours: list[float], rss: list[int], size_mib: int) -> str:
    t, o = statistics.median(theirs), statistics.median(ours)
    return (f"{name}: boto3 {t:.2f} s [{min(theirs):.2f}-{max(theirs):.2f}], video-censor {o:.2f} s "
            f"[{min(ours):.2f}-{max(ours):.2f}] ({size_mib / o:.0f} MiB/s), ratio {o / t:.2f}, "
            f"peak RSS {max(rss)} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work, port = Path(tmp), free_port()
        env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
               "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        server = start_moto(port, env)
        try:
            run(work, env, args)
        finally:
            server.terminate()
            server.wait()


def run(work: Path, env: dict, args) -> None:
    local, sha256 = project(work, args.size_mib * MIB)
    cli = [sys.executable, "-c", OURS]
    boto = [sys.executable, "-c", BOTO]
    subprocess.run([sys.executable, "-c", "import boto3; boto3.client('s3').create_bucket(Bucket='bench')"],
                   env=env, check=True)
    cache_env = {**env, "VIDEO_CENSOR_CACHE": str(work / "cache")}
    subprocess.run([*cli, "--mirror", (work / "export").as_uri(), "--download-models"], env=cache_env, cwd=work,
                   check=True)
    up_theirs, up_ours, up_rss, down_theirs, down_ours, down_rss = [], [], [], [], [], []
    for n in range(args.repeat):
        up_theirs.append(timed([*boto, "upload_file", str(local), "bench", f"boto{n}/model.bin"], env, work)[0])
        seconds, rss = timed([*cli, "models", "export", f"s3://bench/run{n}"], cache_env, work)
        up_ours.append(seconds)
        up_rss.append(rss)
    for n in range(args.repeat):
        down_theirs.append(timed([*boto, "download_file", "bench", "boto0/model.bin", str(work / f"d{n}")], env,
                                 work)[0])
        fresh = {**env, "VIDEO_CENSOR_CACHE": str(work / f"fresh{n}")}
        seconds, rss = timed([*cli, "--mirror", "s3://bench/run0", "--download-models"], fresh, work)
        down_ours.append(seconds)
        down_rss.append(rss)
        assert hashlib.sha256((work / f"fresh{n}" / "models-v1" / "blobs" / sha256).read_bytes()).hexdigest() == sha256
    print(f"{args.size_mib} MiB, {args.repeat} interleaved runs each, load {Path('/proc/loadavg').read_text().strip()}")
    print(summary("export s3://", up_theirs, up_ours, up_rss, args.size_mib))
    print(summary("download from s3://", down_theirs, down_ours, down_rss, args.size_mib))


if __name__ == "__main__":
    main()
