"""How fast `video-censor --download-models` is against `curl -o`, verification included.

    python benchmarks/download_bench.py [--size-mib 1024] [--pairs 5] [--only single|throttled|many|small]

The origin must not be the bottleneck. A benchmark whose server is slower than curl's
client measures the server: the fake Hub writing 1 GiB from Python made us look 0.8x
curl while curl itself was waiting. So the file is served by the fake CDN with the
kernel's sendfile (`FakeHub.serve_file`), behind the Hub's 302 as on huggingface.co, and
the client (curl, or us) is what limits the speed.

Parts (each timed as whole processes, paired run by run in alternating order, so a busy
neighbour on a shared machine slows both sides of a pair alike; medians and ranges):

- single: one locked file, unthrottled. `--connections 1` (one stream, hashed in-stream)
  and the default (segmented) against `curl -sL -o`, and against `curl -o` followed by
  `openssl dgst -sha256` (what "download then verify" costs with the fastest tools);
  peak RSS of our process; the peers `hf_hub_download` and `pooch.retrieve` (1 MiB chunks)
  against curl too (`--no-peers` skips them).
- throttled: every CDN connection capped at --rate-mb MB/s (a CDN edge's per-connection
  limit); our default `connections = 8` against curl (one connection) and against
  huggingface_hub's `hf_hub_download` in the same pairs.
- many / small: several 128 MiB files with jobs=4 against `curl --parallel`; 200 small
  files against 8 requests sessions (no hashing, no cache).

Child processes get compiled bytecode (PYTHONPYCACHEPREFIX in a temp dir), as an
installed package would. The load of the machine is printed beside every figure.
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


def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def publish(hub: FakeHub, repo_id: str, files: dict[str, bytes]) -> LockedModel:
    commit = hub.create_repo(repo_id).commit({p: LFS(d) if len(d) > 64 else d for p, d in files.items()})
    locked = tuple(LockedFile(p, resolve_url(hub.url, repo_id, commit, p), len(d), hashlib.sha256(d).hexdigest())
                   for p, d in sorted(files.items()))
    return LockedModel(repo_id.split("/")[1], repo_id, "main", ("*",), (), commit, locked)


def publish_file(hub: FakeHub, repo_id: str, path: Path) -> LockedModel:
    """One LFS file that the CDN sends from disk by sendfile."""
    size = path.stat().st_size
    sha = hub.serve_file(path)
    commit = hub.create_repo(repo_id).commit({"model.onnx": LFS.recorded(size=size, sha256=sha)})
    locked = (LockedFile("model.onnx", resolve_url(hub.url, repo_id, commit, "model.onnx"), size, sha),)
    return LockedModel(repo_id.split("/")[1], repo_id, "main", ("*",), (), commit, locked)


def random_file(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            out.write(os.urandom(MIB))
        out.write(os.urandom(size % MIB))


def child_env(work: Path, hub: FakeHub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "VIDEO_CENSOR_CONNECTIONS")}
    env.update(HF_ENDPOINT=hub.url, VIDEO_CENSOR_CACHE=str(work / "cache"), PYTHONPYCACHEPREFIX=str(work / "pycache"),
               HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1", HF_HOME=str(work / "hf_home"), **extra)
    return env


def timed(argv: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process.

    The RSS comes from /usr/bin/time, not from our own wait4: a child forked from this
    process (which may hold served bytes) would report our RSS as its high-water mark.
    """
    rss_file = cwd / "rss.txt"
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
    return elapsed, int(rss_file.read_text().split()[-1])


def ours(work: Path, env: dict, *options: str) -> tuple[float, int]:
    shutil.rmtree(work / "cache", ignore_errors=True)
    return timed([sys.executable, "-m", "video_censor_personal", "--quiet", *options, "--download-models"], work, env)


def curl(work: Path, url: str) -> float:
    elapsed = timed(["curl", "-sfL", "-o", str(work / "curl.out"), url], work)[0]
    return elapsed


def hf_download(work: Path, env: dict, model: LockedModel) -> float:
    shutil.rmtree(work / "hf_cache", ignore_errors=True)
    code = (f"from huggingface_hub import hf_hub_download; hf_hub_download({model.repo!r}, 'model.onnx', "
            f"revision={model.commit!r}, cache_dir={str(work / 'hf_cache')!r})")
    return timed([sys.executable, "-c", code], work, env)[0]


def pooch_retrieve(work: Path, env: dict, model: LockedModel) -> float:
    """pooch.retrieve with 1 MiB chunks (its default of 1 KiB is several times slower)."""
    shutil.rmtree(work / "pooch", ignore_errors=True)
    f = model.files[0]
    code = (f"import pooch; pooch.retrieve({f.url!r}, known_hash='sha256:{f.sha256}', path={str(work / 'pooch')!r}, "
            f"fname='m', progressbar=False, downloader=pooch.HTTPDownloader(chunk_size=1 << 20))")
    return timed([sys.executable, "-c", code], work, env)[0]


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def spread(values: list[float], unit: str = "x") -> str:
    return f"median {statistics.median(values):.2f}{unit} (range {min(values):.2f}-{max(values):.2f})"


def paired(pairs: int, runners: dict) -> dict[str, list]:
    """Run every runner once per pair, the order reversed on every other pair."""
    results: dict[str, list] = {name: [] for name in runners}
    names = list(runners)
    for n in range(pairs):
        for name in names if n % 2 == 0 else reversed(names):
            results[name].append(runners[name]())
        print(f"  pair {n + 1}: " + ", ".join(f"{k} {_seconds(v[-1])}" for k, v in results.items())
              + f"  ({load()})", flush=True)
    return results


def _seconds(value) -> str:
    """A runner's figure: seconds, or (seconds, peak RSS KiB), or (curl, curl + openssl)."""
    if not isinstance(value, tuple):
        return f"{value:.2f} s"
    first, second = value
    return f"{first:.2f} s ({second / 1024:.0f} MiB)" if isinstance(second, int) else f"{first:.2f} s/{second:.2f} s"


def single_file(hub: FakeHub, work: Path, size: int, pairs: int, peers: bool) -> None:
    """Item 1/2: one file, unthrottled sendfile origin; one stream and segmented against curl."""
    random_file(work / "source.bin", size)
    model = publish_file(hub, "bench/single", work / "source.bin")
    write_lock(work / "models.lock", model)
    env, url = child_env(work, hub), model.files[0].url
    openssl = ["openssl", "dgst", "-sha256", str(work / "curl.out")]

    def curl_then_openssl() -> tuple[float, float]:
        fetched = curl(work, url)
        return fetched, fetched + timed(openssl, work)[0]

    print(f"one file, {size // MIB} MiB, sendfile origin, unthrottled ({load()})")
    runners = {"curl+openssl": curl_then_openssl,
               "ours --connections 1": lambda: ours(work, env, "--connections", "1"),
               "ours (8 connections)": lambda: ours(work, env)}
    if peers:
        runners.update({"hf_hub_download": lambda: hf_download(work, env, model),
                        "pooch.retrieve": lambda: pooch_retrieve(work, env, model)})
    results = paired(pairs, runners)
    curl_times = [c for c, _ in results["curl+openssl"]]
    verified = [v for _, v in results["curl+openssl"]]
    for name in ("ours --connections 1", "ours (8 connections)"):
        times = [t for t, _ in results[name]]
        print(f"  {name:22s} / curl -sL -o            {spread(ratios(times, curl_times))}")
        print(f"  {name:22s} / (curl -o; openssl dgst) {spread(ratios(times, verified))}")
        print(f"  {name:22s} peak RSS {max(r for _, r in results[name]) / 1024:.0f} MiB")
    for name in ("hf_hub_download", "pooch.retrieve") if peers else ():
        print(f"  {name:22s} / curl -sL -o            {spread(ratios(results[name], curl_times))}")
    print(f"  curl -sL -o {spread(curl_times, ' s')}, curl + openssl {spread(verified, ' s')}  ({load()})")
    os.unlink(work / "curl.out")
    (work / "source.bin").unlink()


def throttled(hub: FakeHub, work: Path, size: int, pairs: int, rate: float) -> None:
    """Item 4: every CDN connection capped at `rate` bytes/s; 8 connections against one."""
    random_file(work / "throttled.bin", size)
    model = publish_file(hub, "bench/throttled", work / "throttled.bin")
    write_lock(work / "models.lock", model)
    env, url = child_env(work, hub), model.files[0].url
    hub.cdn_rate = rate
    print(f"one file, {size // MIB} MiB, {rate / 1e6:.0f} MB/s per CDN connection ({load()})")
    try:
        results = paired(pairs, {"curl": lambda: curl(work, url), "ours": lambda: ours(work, env),
                                 "hf_hub_download": lambda: hf_download(work, env, model)})
    finally:
        hub.cdn_rate = None
    times = [t for t, _ in results["ours"]]
    print(f"  curl / ours (times faster)             {spread(ratios(results['curl'], times))}")
    print(f"  hf_hub_download / ours (times faster)  "
          f"{spread(ratios(results['hf_hub_download'], times))}")
    print(f"  ours peak RSS {max(r for _, r in results['ours']) / 1024:.0f} MiB  ({load()})")
    os.unlink(work / "curl.out")
    (work / "throttled.bin").unlink()


def many_files(hub: FakeHub, work: Path, count: int, size: int, jobs: int, pairs: int) -> None:
    files = {f"part-{i}.onnx": os.urandom(size) for i in range(count)}
    model = publish(hub, f"bench/many-{count}", files)
    write_lock(work / "models.lock", model)
    (work / "models.toml").write_text(f"[settings]\njobs = {jobs}\n")
    env = child_env(work, hub)
    argv = ["curl", "-sL", "--parallel", "--parallel-max", str(jobs)]
    for i, f in enumerate(model.files):
        argv += ["-o", str(work / f"curl-{i}"), f.url]
    print(f"{count} files of {size // MIB} MiB, jobs={jobs} ({load()})")
    results = paired(pairs, {"curl --parallel": lambda: timed(argv, work)[0], "ours": lambda: ours(work, env)[0]})
    print(f"  ours / curl --parallel {spread(ratios(results['ours'], results['curl --parallel']))}")
    for i in range(count):
        os.unlink(work / f"curl-{i}")
    (work / "models.toml").unlink()


def small_files(hub: FakeHub, work: Path, count: int, pairs: int) -> None:
    files = {f"f/{i:03d}.json": os.urandom(2048) for i in range(count)}
    model = publish(hub, "bench/small", files)
    write_lock(work / "models.lock", model)
    (work / "models.toml").write_text("[settings]\njobs = 8\n")
    (work / "urls.txt").write_text("\n".join(f.url for f in model.files))
    env = child_env(work, hub)
    baseline = [sys.executable, __file__, "--requests-baseline", str(work / "urls.txt"), str(work / "baseline")]

    def sessions() -> float:
        shutil.rmtree(work / "baseline", ignore_errors=True)
        return timed(baseline, work, env)[0]

    print(f"{count} small files, both as whole processes ({load()})")
    results = paired(pairs, {"8 requests sessions": sessions, "ours": lambda: ours(work, env)[0]})
    print(f"  ours / sessions {spread(ratios(results['ours'], results['8 requests sessions']))}")
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
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--rate-mb", type=float, default=25.0, help="MB/s per CDN connection (throttled part)")
    parser.add_argument("--only", choices=("single", "throttled", "many", "small"), action="append")
    parser.add_argument("--no-peers", action="store_true", help="skip hf_hub_download and pooch in the single part")
    parser.add_argument("--requests-baseline", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.requests_baseline:
        requests_baseline(*args.requests_baseline)
        return
    parts = args.only or ["single", "throttled"]
    with tempfile.TemporaryDirectory(prefix="vc-bench-", dir=os.environ.get("BENCH_TMP")) as tmp, FakeHub() as hub:
        work, size = Path(tmp), args.size_mib * MIB
        if "single" in parts:
            single_file(hub, work, size, args.pairs, not args.no_peers)
        if "throttled" in parts:
            throttled(hub, work, size, args.pairs, args.rate_mb * 1e6)
        if "many" in parts:
            many_files(hub, work, 8, 128 * MIB, 4, args.pairs)
        if "small" in parts:
            small_files(hub, work, 200, args.pairs)


if __name__ == "__main__":
    main()
