"""The in-browser benchmark's measuring tools, on a page of a few bytes: the counting server writes down exactly what
goes over the wire, the bench's sums of a visit come from it (gzip sizes, stand-ins left out), and a second browser
on the same profile is served from its cache, which is what the bench's "warm" visit relies on.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import lite_browser
from support import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("bench_lite", ROOT / "bench" / "bench_lite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "big.js").write_text("const parcel = 'FedEx';\n" * 2000)
    (tmp_path / "standin.whl").write_bytes(os.urandom(3000))
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text('<html><head><script src="../big.js"></script></head>'
                                                  "<body><p id='ready'>ready</p></body></html>")
    # Old enough that a browser may keep it without asking again, as with a site built yesterday.
    old = time.time() - 7 * 24 * 3600
    for path in tmp_path.rglob("*"):
        os.utime(path, (old, old))
    return tmp_path


def _received(base: str, request: str) -> int:
    """Every byte the server answers a raw HTTP/1.0 request with."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(request.encode())
        received = 0
        while chunk := connection.recv(65536):
            received += len(chunk)
    return received


def _settled(handler, count: int) -> list:
    for _ in range(50):
        with handler.lock:
            if len(handler.log) >= count:
                return list(handler.log)
        time.sleep(0.02)
    raise AssertionError(f"the server logged {len(handler.log)} responses, not {count}")


def test_counting_records_every_byte_sent(folder):
    handler, other = lite_browser.Counting.new(), lite_browser.Counting.new()
    requests = {
        "/big.js": 200,
        "/page/": 200,
        "/missing.js": 404,
        "/page": 301,
    }
    with lite_browser.serve(folder, handler) as base:
        received = [_received(base, f"GET {path} HTTP/1.0\r\n\r\n") for path in requests]
        later = "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"
        received.append(_received(base, f"GET /big.js HTTP/1.0\r\n{later}\r\n\r\n"))
        log = _settled(handler, len(received))
    assert other.log == [] and lite_browser.Counting.log == []
    assert [(s.path, s.status) for s in log] == [*requests.items(), ("/big.js", 304)]
    assert [s.bytes for s in log] == received
    assert log[0].bytes > (folder / "big.js").stat().st_size  # the headers count too
    assert [s.file for s in log] == [folder / "big.js", folder / "page" / "index.html", None, None, None]


def test_transfer_sums_a_visit(folder):
    bench = _bench()
    handler = lite_browser.Counting.new()
    with lite_browser.serve(folder, handler) as base:
        received = [_received(base, f"GET {path} HTTP/1.0\r\n\r\n")
                    for path in ("/page/", "/big.js", "/standin.whl", "/nowhere")]
        log = _settled(handler, len(received))
    visit = bench.transfer(log, folder, {(folder / "standin.whl").resolve(): "cryptography"})
    kept = [received[0], received[1], received[3]]
    assert visit["requests"] == 3
    assert visit["sent"] == sum(kept)
    assert visit["failed"] == ["/nowhere"]
    assert visit["standins"] == ["cryptography"]
    packed = {name: len(gzip.compress((folder / name).read_bytes(), compresslevel=6))
              for name in ("big.js", "page/index.html")}
    assert visit["gzipped"] == sum(packed.values())
    assert visit["gzipped"] < (folder / "big.js").stat().st_size
    assert [name for name, _, _ in visit["largest"]] == ["big.js", "page/index.html"]
    assert visit["largest"][0][1:] == ((folder / "big.js").stat().st_size, packed["big.js"])


@pytest.mark.browser
@pytest.mark.slow
def test_a_second_browser_on_the_same_profile_is_served_from_its_cache(folder, tmp_path_factory):
    if _bench()._missing_browser():
        pytest.skip(_bench()._missing_browser())
    profile = tmp_path_factory.mktemp("profile")
    handler = lite_browser.Counting.new()
    sent = []
    with lite_browser.serve(folder, handler) as base:
        for _ in range(2):
            with handler.lock:
                handler.log.clear()
            with lite_browser.chromium(profile) as driver:
                driver.get(f"{base}page/")
                assert driver.find_element("id", "ready").text == "ready"
            with handler.lock:
                sent.append({s.path: s for s in handler.log})
    cold, warm = sent
    assert cold["/big.js"].status == 200
    assert "/big.js" not in warm or warm["/big.js"].status == 304
    assert sum(s.bytes for s in warm.values()) < cold["/big.js"].bytes
