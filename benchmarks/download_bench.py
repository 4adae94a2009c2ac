"""How fast `video-censor --download-models` is against `curl -o`, verification included.

One locked file (default 1 GiB) served by the fake Hub (resolve -> 302 -> CDN) is fetched by
`curl -sL -o f URL` and by a `video-censor --download-models` process into an empty cache;
the ratio of their wall times is the headline (goal <= 1.0, stretch 0.8). Also printed:
OpenSSL's sha256 speed on the same file (what hashlib runs), the peak RSS of the download
process, the no-op re-run as a whole process, eight 128 MiB files with jobs=4 against
`curl --parallel`, and 200 small files against a process of 8 threads with plain requests
sessions (no hashing, no cache). Runs are interleaved (curl, ours, curl, ...) and the best
and median are shown: a busy neighbour on a 2-core machine swings single runs by 2x.

    python benchmarks/download_bench.py [--size-mib 1024] [--repeat 3] [--only single|many|small]

Child processes get compiled bytecode (PYTHONPYCACHEPREFIX in a temp dir), as an
installed package would, even when the shell sets PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.download_support import write_lock  # noqa: E402
from tests.fakehub import LFS, FakeHub  # noqa: E402
from video_censor_personal.lockfile import LockedFile, LockedModel, resolve_url  # noqa: E402

MIB = 1 << 20


def make_file(path: Path, size: int) -> tuple[bytes, str]:
    """Random bytes written once to disk (kept for openssl) and returned for the fake to serve."""
    data = os.urandom(size)
    path.write_bytes(data)
    return data, hashlib.sha256(data).hexdigest()


def publish(hub: FakeHub, repo_id: str, files: dict[str, bytes]) -> LockedModel:
    commit = hub.create_repo(repo_id).commit({p: LFS(d) if len(d) > 64 else d for p, d in files.items()})
    locked = tuple(LockedFile(p, resolve_url(hub.url, repo_id, commit, p), len(d), hashlib.sha256(d).hexdigest())
                   for p, d in sorted(files.items()))
    return LockedModel(repo_id.split("/")[1], repo_id, "main", ("*",), (), commit, locked)


def child_env(work: Path, hub: FakeHub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HF_ENDPOINT=hub.url, VIDEO_CENSOR_CACHE=str(work / "cache"),
               PYTHONPYCACHEPREFIX=str(work / "pycache"), **extra)
    return env


def timed(argv: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process.

    The RSS comes from /usr/bin/time, not from our own wait4: a child forked from this
    process (which holds the served bytes) would report our RSS as its high-water mark.
    """
    rss_file = cwd / "rss.txt"
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
    return elapsed, int(rss_file.read_text().split()[-1])


def video_censor(work: Path, env: dict) -> tuple[float, int]:
    shutil.rmtree(work / "cache", ignore_errors=True)
    return timed([sys.executable, "-m", "video_censor_personal", "--quiet", "--download-models"], work, env)


def best(values: list[float]) -> str:
    return f"best {min(values):.3f} s, median {statistics.median(values):.3f} s"


def single_file(hub: FakeHub, work: Path, size: int, repeat: int) -> None:
    data, sha = make_file(work / "source.bin", size)
    model = publish(hub, "bench/single", {"model.onnx": data})
    del data
    write_lock(work / "models.lock", model)
    env = child_env(work, hub)
    url = model.files[0].url
    curl, runs = [], []
    for _ in range(repeat):  # interleaved, so a busy neighbour slows both alike
        curl.append(timed(["curl", "-sL", "-o", str(work / "curl.out"), url], work)[0])
        os.unlink(work / "curl.out")
        runs.append(video_censor(work, env))
    ours = [elapsed for elapsed, _ in runs]
    openssl = [timed(["openssl", "dgst", "-sha256", str(work / "source.bin")], work)[0] for _ in range(repeat)]
    noop = [timed([sys.executable, "-m", "video_censor_personal", "--download-models"], work, env)[0]
            for _ in range(10)]
    gib = size / (1 << 30)
    print(f"one file, {size // MIB} MiB (sha256 {sha[:12]}...)")
    print(f"  curl -sL -o              {best(curl)}")
    print(f"  video-censor download    {best(ours)}")
    print(f"  ratio (best / best)      {min(ours) / min(curl):.2f}x curl   (median/median "
          f"{statistics.median(ours) / statistics.median(curl):.2f}x)")
    print(f"  openssl dgst -sha256     {best(openssl)}  = {gib / min(openssl):.2f} GiB/s")
    print(f"  peak RSS of download     {max(rss for _, rss in runs) / 1024:.0f} MiB")
    print(f"  no-op re-run (process)   {best(noop)}")


def many_files(hub: FakeHub, work: Path, count: int, size: int, jobs: int, repeat: int) -> None:
    files = {f"part-{i}.onnx": os.urandom(size) for i in range(count)}
    model = publish(hub, f"bench/many-{count}", files)
    write_lock(work / "models.lock", model)
    (work / "models.toml").write_text(f"[settings]\njobs = {jobs}\n")
    env = child_env(work, hub)
    argv = ["curl", "-sL", "--parallel", "--parallel-max", str(jobs)]
    for i, f in enumerate(model.files):
        argv += ["-o", str(work / f"curl-{i}"), f.url]
    curl, ours = [], []
    for _ in range(repeat):
        curl.append(timed(argv, work)[0])
        ours.append(video_censor(work, env)[0])
    noop = [timed([sys.executable, "-m", "video_censor_personal", "--download-models"], work, env)[0]
            for _ in range(5)]
    print(f"{count} files of {size // MIB} MiB, jobs={jobs}")
    print(f"  curl --parallel          {best(curl)}")
    print(f"  video-censor download    {best(ours)}  ratio {min(ours) / min(curl):.2f}x")
    print(f"  no-op re-run (process)   {best(noop)}")
    for i in range(count):
        os.unlink(work / f"curl-{i}")
    (work / "models.toml").unlink()


def small_files(hub: FakeHub, work: Path, count: int, repeat: int) -> None:
    files = {f"f/{i:03d}.json": os.urandom(2048) for i in range(count)}
    model = publish(hub, "bench/small", files)
    write_lock(work / "models.lock", model)
    (work / "models.toml").write_text("[settings]\njobs = 8\n")
    (work / "urls.txt").write_text("\n".join(f.url for f in model.files))
    env = child_env(work, hub)
    baseline = [sys.executable, __file__, "--requests-baseline", str(work / "urls.txt"), str(work / "baseline")]
    sessions, ours = [], []
    for _ in range(repeat):
        sessions.append(timed(baseline, work, env)[0])
        shutil.rmtree(work / "baseline")
        ours.append(video_censor(work, env)[0])
    print(f"{count} small files (both as whole processes)")
    print(f"  8 requests sessions      {best(sessions)}")
    print(f"  video-censor download    {best(ours)}  ratio {min(ours) / min(sessions):.2f}x")
    (work / "models.toml").unlink()


def requests_baseline(url_file: Path, target: Path) -> None:
    """8 threads, one requests.Session each, GET every URL into `target` (no hashing, no cache)."""
    import threading

    import requests

    local = threading.local()
    target.mkdir()

    def get(numbered: tuple[int, str]) -> None:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        (target / str(numbered[0])).write_bytes(local.s.get(numbered[1], timeout=60).content)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, enumerate(url_file.read_text().split())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("single", "many", "small"), help="run one part only")
    parser.add_argument("--requests-baseline", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.requests_baseline:
        requests_baseline(*args.requests_baseline)
        return
    with tempfile.TemporaryDirectory(prefix="vc-bench-") as tmp, FakeHub() as hub:
        work = Path(tmp)
        if args.only in (None, "single"):
            single_file(hub, work, args.size_mib * MIB, args.repeat)
        if args.only in (None, "many"):
            many_files(hub, work, 8, 128 * MIB, 4, args.repeat)
        if args.only in (None, "small"):
            small_files(hub, work, 200, args.repeat)


if __name__ == "__main__":
    main()
