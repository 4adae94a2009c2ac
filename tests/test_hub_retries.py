"""With no Hub, `models lock`, `search` and `add` say why they wait, and do not wait in vain.

Issue 10 item 13: each retry is one `retrying in N s (reason)` line on stderr (none with
--quiet); a host name that does not resolve and a 4xx other than 429 are not retried.
N is the backoff the policy chose (2, 4, 8 s); the tests remove the sleeps themselves.
"""

from __future__ import annotations

import pytest

from tests.clirun import invoke
from tests.fakehub import Fault


def retry_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("retrying in")]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text('[models.x]\nrepo = "org/x"\n')
    return tmp_path


def test_each_retry_of_lock_is_said_aloud(fake_hub, project, capsys):
    fake_hub.add_fault(Fault("status", origin="hub", path="/api/models/org/x", times=None, status=503))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 3
    assert retry_lines(result.stderr) == [f"retrying in {n} s (HTTP 503)" for n in (2, 4, 8)]
    assert result.stderr.index("retrying in 8 s") < result.stderr.index("error:")


def test_quiet_lock_retries_in_silence(fake_hub, project, capsys):
    fake_hub.add_fault(Fault("status", origin="hub", path="/api/models/org/x", times=None, status=503))
    result = invoke(capsys, "--quiet", "models", "lock")
    assert result.exit_code == 3 and retry_lines(result.stderr) == []
    assert fake_hub.count(origin="hub", path_contains="/api/models/org/x") == 4  # still retried


def test_retry_after_is_the_wait_that_is_announced(fake_hub, project, capsys):
    fake_hub.create_repo("org/x").commit({"a.json": b"{}"})
    fake_hub.add_fault(Fault("status", origin="hub", path="/api/models/org/x", times=1, status=429, retry_after=5))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 0, result.stderr
    assert retry_lines(result.stderr) == ["retrying in 5 s (HTTP 429)"]


def test_a_refused_connection_is_retried_with_its_reason(project, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    result = invoke(capsys, "models", "search", "tiny")
    assert result.exit_code == 3
    assert retry_lines(result.stderr) == [f"retrying in {n} s (connection refused)" for n in (2, 4, 8)]


def test_add_says_its_retries_too(project, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    result = invoke(capsys, "models", "add", "y", "org/y")
    assert result.exit_code == 3
    assert len(retry_lines(result.stderr)) == 3


def test_a_host_that_does_not_resolve_is_named_and_not_retried(project, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://no-such-hub.invalid")
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 3
    assert retry_lines(result.stderr) == []
    assert "cannot resolve no-such-hub.invalid" in result.error_lines[0]
    assert "cannot connect" not in result.stderr


def test_a_client_error_is_not_retried(fake_hub, project, capsys):
    fake_hub.add_fault(Fault("status", origin="hub", path="/api/models/org/x", times=None, status=403))
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2
    assert retry_lines(result.stderr) == []
    assert fake_hub.count(origin="hub", path_contains="/api/models/org/x") == 1
