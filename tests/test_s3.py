"""S3 buckets as mirrors and export targets, against a real S3 API server on 127.0.0.1.

The server is moto's (the `moto[server]` test dependency): its WSGI app served by werkzeug
on a free loopback port, with SigV4 signatures and IAM permissions enforced (one IAM user
is created while auth is still off), so wrong credentials are refused as AWS refuses them.
A thin WSGI wrapper records each request (method, path, Range, headers), so tests can say
which requests the product made, and what it never sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.download_support import blob_of, cache_root, flip_byte, payload, publish, view_of, write_lock
from video_censor_personal.progress import format_size

HF_SECRET = "hf_s3testsecrettoken"
WEIGHTS = payload(3 << 20, seed=31)  # several reads; one ranged GET (BLOCK is 8 MiB)
CONFIG = b'{"labels": ["normal", "nsfw"]}'
ALLOW_ALL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


# ---------------------------------------------------------------- the S3 server


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    headers: dict


@dataclass
class S3Server:
    url: str
    key_id: str
    secret: str
    requests: list[Request] = field(default_factory=list)
    faults: list = field(default_factory=list)

    def fail(self, method: str, suffix: str, times: int = 1) -> None:
        """The next `times` requests METHOD .../SUFFIX get a 503, as an overloaded store answers."""
        self.faults.append({"method": method, "suffix": suffix, "times": times})

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)

    def to(self, bucket: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(f"/{bucket}") and method in (None, r.method)]


class _Recorder:
    """WSGI middleware: remembers every request, then lets moto answer it (or fails it on purpose)."""

    def __init__(self, app, requests: list[Request], faults: list):
        self.app, self.requests, self.faults = app, requests, faults

    def __call__(self, environ, start_response):
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        request = Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("HTTP_RANGE"), headers)
        self.requests.append(request)
        for fault in self.faults:
            if fault["method"] == request.method and request.path.endswith(fault["suffix"]) and fault["times"]:
                fault["times"] -= 1
                start_response("503 Service Unavailable", [("Content-Type", "application/xml")])
                return [b"<Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error>"]
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 API on 127.0.0.1:<free port>, auth enforced, one IAM user allowed everything."""
    import boto3
    from moto import settings
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log(self, *args, **kwargs):
            pass

    requests: list[Request] = []
    faults: list = []
    app = _Recorder(DomainDispatcherApplication(create_backend_app), requests, faults)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                       aws_secret_access_key="setup")
    iam.create_user(UserName="mirror")
    iam.put_user_policy(UserName="mirror", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="mirror")["AccessKey"]
    before, settings.INITIAL_NO_AUTH_ACTION_COUNT = settings.INITIAL_NO_AUTH_ACTION_COUNT, 0  # auth on from here
    yield S3Server(url, key["AccessKeyId"], key["SecretAccessKey"], requests, faults)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = before
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def s3(s3_server, monkeypatch, tmp_path):
    """The standard AWS chain pointed at the server: endpoint and keys in the environment only."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    s3_server.requests.clear()
    s3_server.faults.clear()
    return s3_server


@pytest.fixture
def bucket(s3) -> str:
    name = f"team-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    s3.requests.clear()
    return name


@pytest.fixture
def project(fake_hub, tmp_path, monkeypatch):
    """models.lock for one model (a 3 MiB LFS file and a small JSON), downloaded from the Hub."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_TOKEN", HF_SECRET)
    model = publish(fake_hub, "nsfw", {"config.json": CONFIG, "onnx/model.onnx": WEIGHTS})
    write_lock(tmp_path / "models.lock", model)
    return model


def fresh_cache(monkeypatch, tmp_path, name: str) -> None:
    monkeypatch.setenv("VIDEO_CENSOR_CACHE", str(tmp_path / name))


def exported(capsys, bucket: str, prefix: str = "mirror") -> str:
    """`models export s3://BUCKET/PREFIX` of the project, after its download from the Hub."""
    assert invoke(capsys, "--download-models").exit_code == 0
    result = invoke(capsys, "models", "export", f"s3://{bucket}/{prefix}")
    assert result.exit_code == 0, result.stderr
    return f"s3://{bucket}/{prefix}"


def assert_model_present(model) -> None:
    assert view_of(model, "onnx/model.onnx").read_bytes() == WEIGHTS
    assert view_of(model, "config.json").read_bytes() == CONFIG


# ---------------------------------------------------------------- export, then a mirror


def test_export_then_fresh_cache_downloads_everything_from_the_bucket(capsys, fake_hub, s3, bucket, project,
                                                                      monkeypatch, tmp_path):
    assert invoke(capsys, "--download-models").exit_code == 0
    result = invoke(capsys, "models", "export", f"s3://{bucket}/team/models")
    assert result.exit_code == 0, result.stderr
    assert f"--mirror s3://{bucket}/team/models" in result.stderr
    objects = s3.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"] for o in objects} == {"team/models/models.lock"} | {
        f"team/models/blobs/{f.sha256}" for f in project.files}
    lock_text = s3.client().get_object(Bucket=bucket, Key="team/models/models.lock")["Body"].read().decode()
    assert lock_text == (tmp_path / "models.lock").read_text()

    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "second-cache")
    s3.requests.clear()
    result = invoke(capsys, "--mirror", f"s3://{bucket}/team/models", "--download-models")
    assert result.exit_code == 0, result.stderr
    assert_model_present(project)
    gets = s3.to(bucket, "GET")
    assert {r.path for r in gets} == {f"/{bucket}/team/models/blobs/{f.sha256}" for f in project.files}
    assert all(r.range and r.range.startswith("bytes=0-") for r in gets)  # ranged reads, from the start
    assert all(HF_SECRET not in str(r.headers) for r in s3.requests)  # the Hub token never goes to a mirror
    assert all("AWS4-HMAC-SHA256 Credential=" + s3.key_id in r.headers["Authorization"] for r in s3.requests)


def test_export_skips_blobs_already_there_with_the_right_size(capsys, s3, bucket, project):
    exported(capsys, bucket)
    s3.client().put_object(Bucket=bucket, Key=f"mirror/blobs/{project.file('config.json').sha256}", Body=b"short")
    s3.requests.clear()
    result = invoke(capsys, "models", "export", f"s3://{bucket}/mirror")
    assert result.exit_code == 0 and f"({len(CONFIG)} B copied)" in result.stderr
    puts = {r.path.rsplit("/", 1)[-1] for r in s3.to(bucket, "PUT")}
    assert puts == {project.file("config.json").sha256, "models.lock"}  # the 3 MiB blob was not sent again
    assert s3.to(bucket, "HEAD") == [] and len(s3.to(bucket, "GET")) == 1  # one listing, not a HEAD per blob
    body = s3.client().get_object(Bucket=bucket, Key=f"mirror/blobs/{project.file('config.json').sha256}")["Body"]
    assert body.read() == CONFIG


def test_mirrors_from_the_environment_and_settings_with_a_template(capsys, fake_hub, s3, bucket, project,
                                                                   monkeypatch, tmp_path):
    mirror = exported(capsys, bucket)
    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "env-cache")
    monkeypatch.setenv("VIDEO_CENSOR_MIRRORS", mirror)
    assert invoke(capsys, "--download-models").exit_code == 0
    assert_model_present(project)

    monkeypatch.delenv("VIDEO_CENSOR_MIRRORS")
    fresh_cache(monkeypatch, tmp_path, "settings-cache")
    (tmp_path / "models.toml").write_text(f'[settings]\nmirrors = ["{mirror}/blobs/{{sha256}}"]\n')
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert_model_present(project)


def test_an_interrupted_download_resumes_by_range(capsys, fake_hub, s3, bucket, project, monkeypatch, tmp_path):
    """Resumed at the partial file's end, then block after block (1 MiB blocks here, 8 MiB by default)."""
    from video_censor_personal.interop import s3 as s3_module

    monkeypatch.setattr(s3_module, "BLOCK", 1 << 20)
    mirror = exported(capsys, bucket)
    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "resume-cache")
    weights = project.file("onnx/model.onnx")
    part = cache_root() / "blobs" / f"{weights.sha256}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(WEIGHTS[:1_000_000])
    s3.requests.clear()
    result = invoke(capsys, "--mirror", mirror, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert blob_of(project, "onnx/model.onnx").read_bytes() == WEIGHTS
    fetched = len(WEIGHTS) - 1_000_000 + len(CONFIG)  # the summary counts what came over the network only
    assert f"Downloaded 2 file(s), {format_size(fetched)} in" in result.stderr
    ranges = [r.range for r in s3.to(bucket, "GET") if r.path.endswith(weights.sha256)]
    assert ranges == ["bytes=1000000-2048575", "bytes=2048576-3097151", f"bytes=3097152-{len(WEIGHTS) - 1}"]


def test_a_503_gets_the_retry_policy_and_no_hidden_retries(capsys, fake_hub, s3, bucket, project, monkeypatch,
                                                           tmp_path):
    mirror = exported(capsys, bucket)
    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "retry-cache")
    weights = project.file("onnx/model.onnx").sha256
    s3.fail("GET", weights)
    s3.requests.clear()
    result = invoke(capsys, "--mirror", mirror, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert_model_present(project)
    # one 503, then the retry policy's attempt (HEAD, GET); botocore and s3fs add no retries of their own
    assert [r.method for r in s3.to(bucket) if r.path.endswith(weights)] == ["HEAD", "GET", "HEAD", "GET"]


def test_a_tampered_object_is_refused_and_the_next_source_serves(capsys, fake_hub, s3, bucket, project,
                                                                 monkeypatch, tmp_path):
    good = exported(capsys, bucket, "good")
    weights = project.file("onnx/model.onnx")
    tampered = bytearray(WEIGHTS)
    tampered[123_456] ^= 0xFF
    for f in project.files:  # a second export whose big blob has one byte changed
        body = bytes(tampered) if f is weights else CONFIG
        s3.client().put_object(Bucket=bucket, Key=f"bad/blobs/{f.sha256}", Body=body)
    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "tamper-cache")
    s3.requests.clear()
    result = invoke(capsys, "--mirror", f"s3://{bucket}/bad", "--mirror", good, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert_model_present(project)
    bad_gets = [r for r in s3.to(bucket, "GET") if r.path == f"/{bucket}/bad/blobs/{weights.sha256}"]
    assert len(bad_gets) == 2  # wrong bytes: one retry from scratch, then the next source

    fresh_cache(monkeypatch, tmp_path, "tamper-only-cache")
    result = invoke(capsys, "--mirror", f"s3://{bucket}/bad", "--download-models")
    assert result.exit_code == 3  # the Hub was unreachable, not wrong: DESIGN's exit 1 needs wrong bytes everywhere
    assert f"s3://{bucket}/bad/blobs/{weights.sha256}: wrong bytes: sha256 " in result.stderr


def test_an_object_of_the_wrong_size_is_refused_before_reading_it(capsys, fake_hub, s3, bucket, project,
                                                                  monkeypatch, tmp_path):
    for f in project.files:
        s3.client().put_object(Bucket=bucket, Key=f"short/blobs/{f.sha256}", Body=b"x" * 10)
    fake_hub.stop()
    s3.requests.clear()
    result = invoke(capsys, "--mirror", f"s3://{bucket}/short", "--download-models")
    assert result.exit_code == 3 and "the object is 10 bytes, the lock says" in result.stderr
    assert s3.to(bucket, "GET") == []


# ---------------------------------------------------------------- failures a user can cause


def test_wrong_credentials_name_the_bucket_and_print_no_secret(capsys, fake_hub, s3, bucket, project, monkeypatch,
                                                               tmp_path):
    mirror = exported(capsys, bucket)
    wrong = "wrongSecretKey0123456789abcdefWRONG"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    s3.requests.clear()
    export = invoke(capsys, "models", "export", f"s3://{bucket}/other")
    assert export.exit_code == 2 and f"cannot export to s3://{bucket}/other: access denied" in export.stderr
    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "denied-cache")
    result = invoke(capsys, "--mirror", mirror, "--download-models")
    assert result.exit_code == 3
    assert f"access denied to bucket {bucket}: check the AWS credentials" in result.stderr
    for output in (result.stdout + result.stderr, export.stdout + export.stderr):
        assert wrong not in output and s3.secret not in output and HF_SECRET not in output
    assert [r for r in s3.to(bucket, "GET") if "/blobs/" in r.path] == [] and s3.to(bucket, "PUT") == []


def test_credentials_from_a_profile_of_the_standard_chain(capsys, fake_hub, s3, bucket, project, monkeypatch,
                                                          tmp_path):
    mirror = exported(capsys, bucket)
    fake_hub.stop()
    fresh_cache(monkeypatch, tmp_path, "profile-cache")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(f"[team]\naws_access_key_id = {s3.key_id}\naws_secret_access_key = {s3.secret}\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "team")
    result = invoke(capsys, "--mirror", mirror, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert_model_present(project)


def test_a_missing_bucket_is_named(capsys, fake_hub, s3, project):
    fake_hub.stop()
    result = invoke(capsys, "--mirror", "s3://no-such-bucket-here/mirror", "--download-models")
    assert result.exit_code == 3 and "bucket no-such-bucket-here does not exist" in result.stderr


def test_a_bucket_without_the_export_names_the_missing_object(capsys, fake_hub, s3, bucket, project):
    fake_hub.stop()
    result = invoke(capsys, "--mirror", f"s3://{bucket}/empty", "--download-models")
    weights = project.file("onnx/model.onnx")
    assert result.exit_code == 3 and f"s3://{bucket}/empty/blobs/{weights.sha256} does not exist" in result.stderr


def test_no_credentials_at_all_are_named(capsys, fake_hub, s3, bucket, project, monkeypatch):
    fake_hub.stop()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = invoke(capsys, "--mirror", f"s3://{bucket}/mirror", "--download-models")
    assert result.exit_code == 3 and f"no AWS credentials found for bucket {bucket}" in result.stderr


def test_export_refuses_bytes_that_changed_behind_their_record(capsys, s3, bucket, project):
    """Bit rot that kept size and mtime passes the stat record; the in-stream hash of the upload catches it."""
    assert invoke(capsys, "--download-models").exit_code == 0
    view = view_of(project, "onnx/model.onnx")
    before = view.stat()
    flip_byte(view, 1000)
    os.utime(view, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = invoke(capsys, "models", "export", f"s3://{bucket}/rot")
    assert result.exit_code == 1 and "not exported" in result.stderr
    keys = {o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert f"rot/blobs/{project.file('onnx/model.onnx').sha256}" not in keys and "rot/models.lock" not in keys


def test_export_to_a_missing_bucket_exits_2_naming_it(capsys, s3, project):
    assert invoke(capsys, "--download-models").exit_code == 0
    export = invoke(capsys, "models", "export", "s3://no-such-bucket-here/mirror")
    assert export.exit_code == 2
    assert "cannot export to s3://no-such-bucket-here/mirror: bucket no-such-bucket-here does not exist" \
        in export.stderr


def test_an_unreachable_endpoint_is_named(capsys, fake_hub, s3, project, monkeypatch):
    fake_hub.stop()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    result = invoke(capsys, "--mirror", "s3://team/mirror", "--download-models")
    assert result.exit_code == 3 and "cannot connect to the S3 endpoint of bucket team" in result.stderr


def test_offline_mode_does_not_use_a_bucket(capsys, s3, bucket, project):
    result = invoke(capsys, "--offline", "--mirror", f"s3://{bucket}/mirror", "--download-models")
    assert result.exit_code == 3 and "offline" in result.stderr
    assert s3.requests == []


def test_without_the_s3_extra_a_bucket_is_exit_2_with_the_install_hint(capsys, fake_hub, project, monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # what `import s3fs` meets when the extra is not installed
    fake_hub.stop()
    result = invoke(capsys, "--mirror", "s3://team/mirror", "--download-models")
    assert result.exit_code == 2 and "hint: install it: pip install 'video-censor-personal[s3]'" in result.stderr
    assert "need the optional `s3` extra" in result.stderr
    # said once for the run, with the files it stopped listed under it
    assert result.error_lines[0] == "error: 2 of 2 files could not be downloaded"
    assert result.stderr.count("need the optional `s3` extra") == 1
    assert "    nsfw/config.json\n" in result.stderr and "    nsfw/onnx/model.onnx\n" in result.stderr


def test_without_the_s3_extra_export_is_exit_2(capsys, project, monkeypatch):
    assert invoke(capsys, "--download-models").exit_code == 0
    monkeypatch.setitem(sys.modules, "s3fs", None)
    result = invoke(capsys, "models", "export", "s3://team/mirror")
    assert result.exit_code == 2 and "pip install 'video-censor-personal[s3]'" in result.stderr


# ---------------------------------------------------------------- protocol and start-up


def test_s3_downloader_speaks_poochs_protocol(s3, bucket, tmp_path):
    import hashlib

    import pooch

    from video_censor_personal.interop.s3 import S3Downloader

    s3.client().put_object(Bucket=bucket, Key="blobs/x", Body=WEIGHTS)
    downloader = S3Downloader(len(WEIGHTS), 30)
    url = f"s3://{bucket}/blobs/x"
    path = pooch.retrieve(url, known_hash=f"sha256:{hashlib.sha256(WEIGHTS).hexdigest()}", path=tmp_path,
                          fname="x.bin", downloader=downloader, progressbar=False)
    assert Path(path).read_bytes() == WEIGHTS and downloader.hasher.hexdigest() == hashlib.sha256(WEIGHTS).hexdigest()
    assert downloader(url, None, None, check_only=True) is True
    assert downloader(f"s3://{bucket}/blobs/y", None, None, check_only=True) is False


def test_help_and_a_no_op_run_with_a_bucket_mirror_import_no_s3_library(tmp_path):
    write_lock(tmp_path / "models.lock")
    env = {"VIDEO_CENSOR_MIRRORS": "s3://team/mirror", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    heavy = {"s3fs", "fsspec", "botocore", "aiobotocore", "aiohttp", "boto3"}
    for argv in (["--help"], ["--download-models"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "video_censor_personal", *argv], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
        assert imported & heavy == set()


def test_bucket_mirrors_expand_to_the_export_layout_and_keep_paths_unquoted():
    from video_censor_personal.transfer.fetch import Wanted, expand_mirror

    wanted = Wanted("m", "org/m", "c" * 40, "onnx/my model.onnx", "https://hub/x", 1, "a" * 64)
    assert expand_mirror("s3://team/video-censor/", wanted) == f"s3://team/video-censor/blobs/{'a' * 64}"
    assert expand_mirror("s3://team/{repo}/{commit}/{path}", wanted) == f"s3://team/org/m/{'c' * 40}/onnx/my model.onnx"
