"""The download path against a real HTTP server on 127.0.0.1 (no monkeypatched opener).

A threaded ``http.server`` started per test serves the raw files of a toy entry registered in
``download.RAW_FILES``; each route answers with a status, a body and an optional delay, and
every request is recorded, so a test can say what reached the server.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from dataclasses import dataclass, field

import pytest

from deepclust.data import download

CONTENT = b"raw bytes of a toy dataset file\n" * 100
TOY = "toy/file.bin"


@dataclass
class Route:
    status: int = 200
    body: bytes = CONTENT
    delay_s: float = 0.0  # before anything is sent


@dataclass
class Server:
    url: str
    routes: dict[str, Route]
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server():
    routes: dict[str, Route] = {}
    requests: list[str] = []
    release = threading.Event()  # set at teardown: a sleeping handler stops waiting

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            route = routes.get(self.path, Route(status=404, body=b"not found"))
            if route.delay_s:
                release.wait(route.delay_s)
            try:
                self.send_response(route.status)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up
                pass

        def log_message(self, *args):  # keep pytest's output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield Server(f"http://{host}:{port}", routes, requests)
    release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def toy(server, monkeypatch, tmp_path):
    """``TOY`` registered with the server's URL and CONTENT's sha256; an empty raw cache and a
    mirror holding a good copy. Returns (mirror, raw cache)."""
    spec = download.RawFile(f"{server.url}/{TOY}", (hashlib.sha256(CONTENT).hexdigest(),))
    monkeypatch.setitem(download.RAW_FILES, TOY, spec)
    monkeypatch.delenv(download.OFFLINE_ENV, raising=False)
    monkeypatch.setenv(download.TIMEOUT_ENV, "5")
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / TOY).write_bytes(CONTENT)
    return mirror, tmp_path / "raw"


def files(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_good_file_is_downloaded_checked_and_then_served_from_the_cache(server, toy):
    mirror, raw = toy
    server.routes[f"/{TOY}"] = Route()
    path = download.fetch(TOY, None, raw)
    assert path == raw / TOY and path.read_bytes() == CONTENT
    assert server.requests == [f"/{TOY}"]
    (mirror / TOY).unlink()
    assert download.fetch(TOY, None, raw) == path
    assert server.requests == [f"/{TOY}"]  # the cache answered: no second request
    assert files(raw) == [path]


def test_a_wrong_checksum_is_refused_and_leaves_nothing(server, toy):
    _, raw = toy
    server.routes[f"/{TOY}"] = Route(body=CONTENT[:-1])  # one byte short
    with pytest.raises(FileNotFoundError, match=r"checksum mismatch for http://127\.0\.0\.1"):
        download.fetch(TOY, None, raw)
    assert server.requests == [f"/{TOY}"]
    assert files(raw) == []  # neither the file nor a temporary copy


def test_a_404_names_the_status_and_the_url(server, toy):
    _, raw = toy
    expected = r"downloading http://127\.0\.0\.1:\d+/toy/file\.bin failed \(HTTP Error 404"
    with pytest.raises(FileNotFoundError, match=expected + r".*no mirror is set"):
        download.fetch(TOY, None, raw)
    assert server.requests == [f"/{TOY}"] and files(raw) == []


def test_a_server_slower_than_the_timeout_is_given_up(server, toy, monkeypatch):
    _, raw = toy
    monkeypatch.setenv(download.TIMEOUT_ENV, "0.3")
    server.routes[f"/{TOY}"] = Route(delay_s=3.0)
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match=r"failed \(.*timed out.*\)"):
        download.fetch(TOY, None, raw)
    assert time.monotonic() - start < 2.0  # the client's 0.3 s, not the server's 3 s
    assert server.requests == [f"/{TOY}"] and files(raw) == []


FAILURES = {"404": Route(status=404), "bad-checksum": Route(body=b"<html>error</html>"),
            "timeout": Route(delay_s=3.0)}  # fmt: skip


@pytest.mark.parametrize("route", FAILURES.values(), ids=FAILURES.keys())
def test_a_failed_download_falls_back_to_the_mirror(server, toy, monkeypatch, route):
    mirror, raw = toy
    monkeypatch.setenv(download.TIMEOUT_ENV, "0.3")
    server.routes[f"/{TOY}"] = route
    path = download.fetch(TOY, mirror, raw)
    assert path.read_bytes() == CONTENT and files(raw) == [path]
    assert server.requests == [f"/{TOY}"]  # the server was tried first


def test_offline_never_contacts_the_server(server, toy, monkeypatch):
    mirror, raw = toy
    server.routes[f"/{TOY}"] = Route()
    monkeypatch.setenv(download.OFFLINE_ENV, "1")
    assert download.fetch(TOY, mirror, raw).read_bytes() == CONTENT
    assert server.requests == []


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_timeout_setting_is_an_error_that_names_it(toy, value, monkeypatch):
    mirror, raw = toy
    monkeypatch.setenv(download.TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=rf"DEEPCLUST_DOWNLOAD_TIMEOUT .*'{value}'"):
        download.fetch(TOY, mirror, raw)
    assert files(raw) == []
