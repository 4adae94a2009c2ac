"""Shared pytest fixtures."""

from __future__ import annotations

import sys

import pytest

# huggingface_hub reads these at import time; the fake_hub fixture patches the module too
# when it is already imported, so the order of imports in tests does not matter.
_HF_ENV_CLEARED = (
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
    "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_OIDC_RESOURCE",
)  # fmt: skip


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """A running FakeHub that huggingface_hub (and the product) use as the Hub.

    Sets HF_ENDPOINT to it, disables Xet and telemetry, forgets any real token (HF_TOKEN
    cleared, HF_HOME in a temporary directory) and stops the servers afterwards.
    """
    from tests.fakehub import FakeHub

    hub = FakeHub()
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    for name in _HF_ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    _patch_imported_huggingface_hub(monkeypatch, hub.url, hf_home)
    yield hub
    hub.stop()
    if hub.errors:  # a bug in the fake must not pass for a Hub error
        pytest.fail("the fake hub crashed while answering:\n" + "\n".join(hub.errors), pytrace=False)


def _patch_imported_huggingface_hub(monkeypatch, endpoint: str, hf_home) -> None:
    """Apply the same settings to huggingface_hub.constants if the module is already loaded."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is None:
        return
    values = {
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_OFFLINE": False,
    }
    for name, value in values.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, value)
    hf_api = sys.modules.get("huggingface_hub.hf_api")
    if hf_api is not None and hasattr(hf_api, "api"):  # behind huggingface_hub.model_info() & co
        monkeypatch.setattr(hf_api.api, "endpoint", endpoint)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Every test: its own model cache and HF home, no real token, no retry sleeps.

    VIDEO_CENSOR_RETRY_SLEEP_SCALE=0 is the knob that removes backoff sleeps in tests.
    """
    home = tmp_path_factory.mktemp("env")
    for name in _HF_ENV_CLEARED + ("VIDEO_CENSOR_MIRRORS", "VIDEO_CENSOR_DEBUG", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(home / "hf_home"))
    monkeypatch.setenv("VIDEO_CENSOR_CACHE", str(home / "cache"))
    monkeypatch.setenv("VIDEO_CENSOR_RETRY_SLEEP_SCALE", "0")
