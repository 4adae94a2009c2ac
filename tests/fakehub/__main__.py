"""`python -m tests.fakehub [--port N] [--cdn-port N] [--mirror-port N]`: a fake Hub to poke by hand.

Starts the three origins with a small demo repo and prints URLs and commands to try; Ctrl-C
stops. The demo repo holds a real (tiny) ONNX image classifier with its config.json and
preprocessor_config.json, so `models add --kind ...` and `analyze` work against it: it flags
bright frames as "nsfw" (tests/tiny_models.py).
"""

from __future__ import annotations

import argparse
import signal
import time

from tests.tiny_models import config_json, preprocessor_json, tiny_classifier

from . import LFS, FakeHub

DEMO_REPO = "demo-org/tiny-model"


def _demo(hub: FakeHub) -> dict[str, str]:
    """A repo with a real tiny classifier (LFS) and its JSON files, a tag, a successor, a gated and a
    renamed repo."""
    repo = hub.create_repo(
        DEMO_REPO,
        card={"license": "mit", "new_version": "demo-org/tiny-model-v2"},
        pipeline_tag="image-classification",
        library_name="onnx",
        downloads=42,
        likes=3,
        tags=["onnx", "vision"],
    )
    files = {"config.json": config_json(), "preprocessor_config.json": preprocessor_json(32),
             "onnx/model.onnx": LFS(tiny_classifier(32))}
    sha = repo.commit(files, message="initial upload")
    repo.tag("v1.0", sha)
    hub.create_repo("demo-org/tiny-model-v2", library_name="onnx", downloads=7).commit({"README.md": b"v2\n"})
    hub.create_repo("demo-org/gated-model", gated="manual").commit({"weights.bin": LFS(b"secret" * 100)})
    hub.create_repo("demo-org/old-name").commit({"config.json": b"{}"})
    hub.rename("demo-org/old-name", "demo-org/new-name")
    hub.tokens.add("hf_demo_token")
    return {"commit": sha}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakehub", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="hub origin port (0 = ephemeral)")
    parser.add_argument("--cdn-port", type=int, default=0)
    parser.add_argument("--mirror-port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args(argv)
    hub = FakeHub(args.page_size, args.latency, args.host, (args.port, args.cdn_port, args.mirror_port))
    info = _demo(hub)
    u, sha = hub.url, info["commit"]
    print(f"hub     {u}\ncdn     {hub.cdn_url}\nmirror  {hub.mirror_url}\n")
    print(f"export HF_ENDPOINT={u} HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_TELEMETRY=1\n")
    for url in (
        f"{u}/api/models/demo-org/tiny-model?blobs=true",
        f"{u}/api/models/demo-org/tiny-model/tree/main?recursive=true",
        f"{u}/api/models/demo-org/tiny-model/refs",
        f"{u}/api/models?search=tiny&sort=downloads&direction=-1&limit=5",
        f"{u}/demo-org/tiny-model/resolve/main/config.json",
        f"{u}/demo-org/tiny-model/resolve/{sha}/onnx/model.onnx' (302 to the CDN)",
        f"{u}/demo-org/gated-model/resolve/main/weights.bin' -H 'Authorization: Bearer hf_demo_token",
        f"{u}/api/models/demo-org/old-name' (307 to demo-org/new-name)",
        f"{hub.mirror_url}/demo-org/tiny-model/resolve/{sha}/onnx/model.onnx",
    ):
        print(f"  curl -si '{url}" + ("" if url.endswith(")") else "'"))
    print("\nThe whole flow, in an empty directory (the model flags bright frames as nsfw):\n"
          f"  video-censor models add tiny {DEMO_REPO} --kind image-classifier --file onnx/model.onnx --flag nsfw\n"
          "  video-censor --download-models analyze VIDEO.mp4")
    print("\nCtrl-C stops.", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill PID` stops cleanly too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


if __name__ == "__main__":
    main()
