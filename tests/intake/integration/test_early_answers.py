"""Answers sent before the body is read (413, 401) reach a client that writes its whole
body first: intake under a real uvicorn server, Python's http.client as the client."""

import http.client
import io
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest
import uvicorn
from intake.integration.support import bearer, intake_settings, report_body
from PIL import Image

from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app

pytestmark = pytest.mark.integration

TWELVE_MB = 12 * 1024 * 1024


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, mongo_url: str, namespace: str) -> IntakeSettings:
    """One photo of up to 10 MB: multipart bodies over 11 MB are too large."""
    return intake_settings(kafka_bootstrap, mongo_url, namespace, max_photos=1, max_photo_mb=10)


@pytest.fixture(scope="module")
def port(settings: IntakeSettings) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "intake did not start"
        assert time.monotonic() < deadline, "intake did not start within 60 s"
        time.sleep(0.1)
    yield free
    server.should_exit = True
    thread.join(30)


def write_all_then_read(
    port: int, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """POST /v1/reports as http.client does it: the whole body first, then the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/v1/reports", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def multipart(report: bytes, photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="report"\r\n\r\n'.encode(),
            report,
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
            'filename="wall.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode(),
            photo,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


def jpeg_of(size: int) -> bytes:
    """A JPEG of `size` bytes: a small image, then padding."""
    image = io.BytesIO()
    Image.new("RGB", (32, 32), "gray").save(image, "JPEG")
    return image.getvalue() + b"\0" * (size - len(image.getvalue()))


def test_a_12_mb_json_report_written_before_reading_gets_its_413(
    port: int, settings: IntakeSettings
) -> None:
    body = orjson.dumps(report_body(description="x" * TWELVE_MB))
    headers = {**bearer(settings, "v-big-json"), "Content-Type": "application/json"}
    status, answer_headers, answer = write_all_then_read(port, body, headers)
    assert status == 413
    assert answer_headers["connection"] == "close"
    assert orjson.loads(answer)["errors"][0]["type"] == "too_large"


def test_a_12_mb_multipart_report_written_before_reading_gets_its_413(
    port: int, settings: IntakeSettings
) -> None:
    body, content_type = multipart(orjson.dumps(report_body()), jpeg_of(TWELVE_MB))
    headers = {**bearer(settings, "v-big-form"), "Content-Type": content_type}
    status, _, answer = write_all_then_read(port, body, headers)
    assert status == 413
    assert orjson.loads(answer)["errors"][0]["msg"].startswith("request body is larger than")


def test_a_401_before_the_body_is_read_reaches_the_client_too(port: int) -> None:
    body, content_type = multipart(orjson.dumps(report_body()), jpeg_of(10 * 1024 * 1024))
    status, _, answer = write_all_then_read(port, body, {"Content-Type": content_type})
    assert status == 401
    assert answer


def test_a_streamed_body_is_cut_off_at_its_limit_and_still_answered(
    port: int, settings: IntakeSettings
) -> None:
    chunk = b" " * (256 * 1024)
    chunks = [b'{"description": "', *([chunk] * (TWELVE_MB // len(chunk))), b'"}']
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            "/v1/reports",
            body=iter(chunks),
            headers={**bearer(settings, "v-stream"), "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
    finally:
        connection.close()


def test_the_413_comes_before_the_body_is_sent(port: int, settings: IntakeSettings) -> None:
    """Only the headers and 64 KB of a declared 12 MB: the answer arrives all the same."""
    head = (
        "POST /v1/reports HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
        f"Authorization: {bearer(settings, 'v-early')['Authorization']}\r\n"
        f"Content-Length: {TWELVE_MB}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head + b"{" + b" " * 65535)
        answer = client.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")
