"""The Athena views custom resource never leaves CloudFormation waiting: it answers on the pre-signed
ResponseURL on every path (a broken package, no client, a failing request), its Athena client gives up
in seconds, and CloudFormation itself stops waiting a little after the function's timeout.

The answer goes over real HTTPS to a local server (a self-signed certificate the test trusts through
SSL_CERT_FILE), as it goes to S3."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from handlers import athena_setup, athena_views, cfn_response
from tests.test_deploy_athena_setup import event as views_event
from tests.test_deploy_support import REPO, Packaged, packaged

__all__ = ["packaged"]  # the session fixture, imported to be used here


@dataclass
class Received:
    requests: list[dict[str, Any]] = field(default_factory=list)


def _handler_class(received: Received) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@dataclass
class ResponseServer:
    url: str
    received: Received
    cert: Path


@pytest.fixture(scope="module")
def response_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResponseServer]:
    """An HTTPS server on 127.0.0.1 standing for S3's pre-signed URL."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(received))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ResponseServer(f"https://127.0.0.1:{server.server_address[1]}", received, cert)
    server.shutdown()
    server.server_close()


def event(request_type: str, response_url: str) -> dict[str, Any]:
    """The view installer's request (tests/test_deploy_athena_setup.py), answered at `response_url`."""
    request = views_event(request_type, [])
    return {**request, "ResponseURL": response_url, "RequestId": f"request-{request_type}"}


class Context:
    log_stream_name = "2026/12/02/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


BROKEN_IMPORT = """
import json, sys
sys.modules["aws_lambda_powertools"] = None  # the package lost a dependency: importing it fails
from handlers import athena_setup
assert isinstance(athena_setup.IMPORT_ERROR, ImportError), athena_setup.IMPORT_ERROR
class Context:
    log_stream_name = "stream"
print(athena_setup.handler(json.loads(sys.argv[1]), Context()))
"""


@pytest.mark.parametrize(("request_type", "status"), [("Create", "FAILED"), ("Delete", "SUCCESS")])
def test_a_handler_whose_imports_fail_still_answers_cloudformation(
    response_server: ResponseServer, request_type: str, status: str
) -> None:
    url = f"{response_server.url}/signed/{request_type}?X-Amz-Signature=abc"
    env = {**os.environ, "SSL_CERT_FILE": str(response_server.cert), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", BROKEN_IMPORT, json.dumps(event(request_type, url))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == status
    (answer,) = [
        r for r in response_server.received.requests if r["path"].startswith(f"/signed/{request_type}")
    ]
    assert answer["content_type"] in ("", None)  # the URL is signed without one
    body = answer["body"]
    assert body["Status"] == status
    assert "aws_lambda_powertools" in body["Reason"]
    assert "did not load" in body["Reason"]
    assert body["PhysicalResourceId"] == "athena-views-dmarc"
    assert (body["RequestId"], body["LogicalResourceId"]) == (f"request-{request_type}", "AthenaViews")


def test_the_answer_is_a_put_over_https(
    response_server: ResponseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(response_server.cert))
    request = event("Create", f"{response_server.url}/signed/direct")
    status = cfn_response.answer(request, RuntimeError("boom"), "see the log")
    assert status == "FAILED"
    bodies = [r["body"] for r in response_server.received.requests if r["path"] == "/signed/direct"]
    assert bodies[-1]["Status"] == "FAILED"
    assert "RuntimeError: boom" in bodies[-1]["Reason"]


@dataclass
class Sent:
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, url: str, body: bytes) -> None:
        self.bodies.append(json.loads(body))


def test_no_client_still_answers_failed() -> None:
    sent = Sent()

    def no_client() -> Any:
        raise RuntimeError("no region")

    status = athena_setup.run(event("Update", "https://x.example/s"), Context(), sent, no_client)
    assert status == "FAILED"
    assert "no region" in sent.bodies[0]["Reason"]


class ExplodingAthena:
    def start_query_execution(self, **_: Any) -> Any:
        raise ConnectionError("connect timeout on athena.us-east-1.amazonaws.com")


def test_an_exception_in_the_work_answers_failed_and_on_delete_success() -> None:
    request = event("Create", "https://x.example/s")
    request["ResourceProperties"]["Views"] = [{"Name": "v", "Sql": "CREATE OR REPLACE VIEW v AS SELECT 1"}]
    sent = Sent()
    assert athena_setup.run(request, Context(), sent, ExplodingAthena) == "FAILED"
    assert "connect timeout" in sent.bodies[0]["Reason"]
    request["RequestType"] = "Delete"
    assert athena_setup.run(request, Context(), sent, ExplodingAthena) == "SUCCESS"


def test_the_athena_client_gives_up_well_before_the_answer_is_due() -> None:
    config: Any = athena_views.CLIENT_CONFIG  # botocore's Config sets its attributes dynamically
    attempts = config.retries["max_attempts"]
    assert config.connect_timeout <= 5
    assert config.read_timeout <= 10
    assert attempts <= 3
    slowest_call = attempts * (config.connect_timeout + config.read_timeout) + attempts  # backoff ~1 s each
    assert (slowest_call + cfn_response.PUT_TIMEOUT_SECONDS) * 1000 < athena_views.SAFETY_MARGIN_MS


def test_cloudformation_stops_waiting_a_little_after_the_function_s_timeout(packaged: Packaged) -> None:
    timeout = packaged.resources["AthenaSetupLambdaFunction"]["Properties"]["Timeout"]
    service_timeout = packaged.resources["AthenaViews"]["Properties"]["ServiceTimeout"]
    assert timeout < service_timeout <= timeout + 60
    assert service_timeout < 3600  # CloudFormation's default: an hour
