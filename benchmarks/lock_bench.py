"""How well `models lock` overlaps Hub round trips.

20 models of 5 files (3 LFS, 2 plain) on the fake Hub with 50 ms latency per request.
Prints the wall time of locking all of them divided by the time of resolving the single
slowest model alone. Serial resolution would give about 20; the goal is under 3.

    python benchmarks/lock_bench.py [--models 20] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakehub import LFS, FakeHub  # noqa: E402
from video_censor_personal.config import parse_manifest  # noqa: E402
from video_censor_personal.environment import build_runtime  # noqa: E402
from video_censor_personal.locking import Upgrade, resolve  # noqa: E402


def make_repos(hub: FakeHub, count: int) -> list[str]:
    names = []
    for index in range(count):
        repo = hub.create_repo(f"bench/model-{index:02d}")
        repo.commit({
            "onnx/model.onnx": LFS(os.urandom(4096)),
            "onnx/model_quantized.onnx": LFS(os.urandom(2048)),
            "tokenizer.model": LFS(os.urandom(1024)),
            "config.json": b'{"index": %d}' % index,
            "preprocessor_config.json": b"{}",
        })
        names.append(f"bench/model-{index:02d}")
    return names


def lock_time(hub: FakeHub, repos: list[str]) -> float:
    text = "".join(f'[models.m{i:02d}]\nrepo = "{repo}"\n' for i, repo in enumerate(repos))
    manifest = parse_manifest(text, Path(tempfile.mkdtemp()) / "models.toml")
    runtime = build_runtime(manifest.settings, environ={"HF_ENDPOINT": hub.url, "VIDEO_CENSOR_CACHE": "/tmp"})
    started = time.perf_counter()
    resolution = resolve(manifest, None, runtime, Upgrade())
    elapsed = time.perf_counter() - started
    assert sum(len(m.files) for m in resolution.lock.models) == 5 * len(repos)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    with FakeHub(latency=args.latency) as hub:
        repos = make_repos(hub, args.models)
        lock_time(hub, repos[:1])  # warm up imports and connections
        slowest = max(lock_time(hub, [repo]) for repo in repos)
        everything = min(lock_time(hub, repos) for _ in range(3))
    print(f"{args.models} models x 5 files, {args.latency * 1000:.0f} ms per request")
    print(f"slowest single model: {slowest:.3f} s")
    print(f"all {args.models} models:   {everything:.3f} s (best of 3)")
    print(f"ratio all / slowest single: {everything / slowest:.2f}  (goal < 3; serial would be ~{args.models})")


if __name__ == "__main__":
    main()
