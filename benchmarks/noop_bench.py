"""The no-op stays free at scale: a lock of 100 models and 2,000 files, everything cached.

Times, as whole processes, `video-censor --download-models` (nothing to do) and
`video-censor models status`, against the yardstick `python -c pass` run in the same
process tree (paired: one of each per round). Prints medians and ranges of wall time in
seconds, the median CPU time (user + system of the child: what a loaded machine disturbs
least), the machine's load, and the goals: under 0.25 s and 0.5 s (issue 11 item 5).

    python benchmarks/noop_bench.py [--models 100] [--files 20] [--rounds 7]

The project is built once (models.toml, models.lock, an export directory as a
`file://` mirror) and the cache filled by a real offline download, then only re-run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from video_censor_personal.lockfile import LockedFile, LockedModel, Lockfile, resolve_url, write_lockfile  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def build_project(root: Path, models: int, files: int) -> None:
    """models.toml, models.lock and `export/blobs/<sha256>` for models x files small files."""
    blobs = root / "export" / "blobs"
    blobs.mkdir(parents=True)
    manifest, locked = [], []
    for m in range(models):
        name, repo = f"model-{m:03d}", f"bench/model-{m:03d}"
        manifest.append(f'[models.{name}]\nrepo = "{repo}"\ninclude = ["onnx/*", "*.json"]\n')
        entries = []
        for f in range(files):
            data = f"{name} file {f}\n".encode() * 4
            sha = hashlib.sha256(data).hexdigest()
            (blobs / sha).write_bytes(data)
            path = f"onnx/part-{f:02d}.onnx"
            entries.append(LockedFile(path, resolve_url("https://huggingface.co", repo, COMMIT, path), len(data), sha))
        locked.append(LockedModel(name, repo, "main", ("onnx/*", "*.json"), (), COMMIT, tuple(entries)))
    (root / "models.toml").write_text("\n".join(manifest), encoding="utf-8")
    from video_censor_personal.config import load_manifest, manifest_hash

    digest = manifest_hash(load_manifest(root / "models.toml"))
    write_lockfile(root / "models.lock", Lockfile(digest, tuple(locked)))


CPU: dict[str, list[float]] = {}


def run(argv: list[str], root: Path, env: dict, label: str = "") -> float:
    """Wall time of one run; its CPU time goes to CPU[label]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    CPU.setdefault(label, []).append(cpu)
    return elapsed


def describe(label: str, times: list[float], yardstick: list[float], goal: float | None = None) -> str:
    median = statistics.median(times)
    extra = f", {median / statistics.median(yardstick):.1f}x python -c pass" if yardstick is not times else ""
    extra += f"; CPU {statistics.median(CPU[label]):.3f} s"
    verdict = "" if goal is None else f"  goal < {goal} s: {'met' if median < goal else 'NOT met'}"
    return f"{label:34s} median {median:.3f} s (range {min(times):.3f}-{max(times):.3f}{extra}){verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    tool = [sys.executable, "-m", "video_censor_personal"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_project(root, args.models, args.files)
        env = {**os.environ, "VIDEO_CENSOR_CACHE": str(root / "cache"), "HF_HUB_OFFLINE": "1"}
        env.pop("VIDEO_CENSOR_MIRRORS", None)
        # as installed: byte code cached (without it every run compiles the package, ~60 ms)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run([*tool, "--quiet", "--mirror", (root / "export").as_uri(), "--download-models"], root, env)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "video-censor --download-models": [*tool, "--download-models"],
            "video-censor models status": [*tool, "models", "status"],
        }
        times: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.rounds):
            for label, argv in commands.items():
                times[label].append(run(argv, root, env, label))
    print(f"{args.models} models, {args.models * args.files} files, {args.rounds} rounds; "
          f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    yardstick = times["python -c pass"]
    print(describe("python -c pass", yardstick, yardstick))
    print(describe("video-censor --download-models", times["video-censor --download-models"], yardstick, 0.25))
    print(describe("video-censor models status", times["video-censor models status"], yardstick, 0.5))


if __name__ == "__main__":
    main()
