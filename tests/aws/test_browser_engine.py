"""The engine's browser-only paths, run here in CPython with Pyodide's modules faked: urllib3's fetch path answered
at the badge addresses and guarded elsewhere, and Pyodide packages loaded on demand with one clear sentence when
they cannot be. ``test_lite_browser`` runs the same code for real, in Chromium; these say exactly what it does.

urllib3's Emscripten support: https://urllib3.readthedocs.io/en/stable/reference/contrib/emscripten.html
"""

from __future__ import annotations

import sys
import types

import pytest

from grader import sandbox
from grader.aws import browser, network
from grader.aws import endpoints
from grader.errors import NotInThisBrowser, SandboxNetworkBlocked


@pytest.fixture
def emscripten_urllib3(monkeypatch):
    """urllib3.contrib.emscripten importable: the ``js`` and ``pyodide.ffi`` modules it imports, faked."""
    js = types.ModuleType("js")
    pyodide = types.ModuleType("pyodide")
    ffi = types.ModuleType("pyodide.ffi")

    class JsException(Exception):
        pass

    ffi.JsArray, ffi.JsProxy, ffi.JsException, ffi.to_js = list, object, JsException, lambda value: value
    pyodide.ffi = ffi
    for name, module in (("js", js), ("pyodide", pyodide), ("pyodide.ffi", ffi)):
        monkeypatch.setitem(sys.modules, name, module)
    yield
    for name in [n for n in sys.modules if n.startswith("urllib3.contrib.emscripten")]:
        del sys.modules[name]


class Endpoints:
    """A stand-in for the sandbox's badge endpoints: records what it was asked."""

    def __init__(self, route=None, answer=(200, {"Content-Type": "text/plain"}, b"a-token")):
        self._route, self._answer, self.asked = route, answer, []

    def route(self, host):
        return self._route

    def answer(self, host, method, path, headers, body):
        self.asked.append((host, method, path, headers, body))
        return self._answer


@pytest.fixture
def served():
    """Serve a stand-in at the badge addresses for one test, then put back what the process served before."""
    before = endpoints._endpoints

    def serve(endpoint):
        endpoints.serve(endpoint)
        return endpoint

    yield serve
    endpoints.serve(before)


def _request(url, method="GET", headers=None, body=None):
    from urllib3.contrib.emscripten.request import EmscriptenRequest

    request = EmscriptenRequest(method=method, url=url, timeout=1.0)
    for name, value in (headers or {}).items():
        request.set_header(name, value)
    request.set_body(body)
    return request


def _never(request, *args, **kwargs):
    raise AssertionError(f"the browser's fetch was asked for {request.url}")


def test_a_badge_address_is_answered_in_the_page_not_by_fetch(emscripten_urllib3, served):
    badge = served(Endpoints())
    send = endpoints._fetch(_never)
    response = send(_request("http://169.254.169.254/latest/api/token?x=1", "PUT",
                             {"x-aws-ec2-metadata-token-ttl-seconds": "21600"}))
    assert (response.status_code, response.body) == (200, b"a-token")
    assert response.headers["Content-Length"] == "7"
    host, method, path, headers, body = badge.asked[0]
    assert (host, method, path, body) == ("169.254.169.254", "PUT", "/latest/api/token?x=1", b"")
    assert headers["X-aws-ec2-metadata-token-ttl-seconds"] == "21600"  # urllib3 capitalises; the endpoint does not mind

    send(_request("http://169.254.170.2/v2/credentials/abc"))
    assert badge.asked[1][:3] == ("169.254.170.2", "GET", "/v2/credentials/abc")


def test_every_other_address_goes_on_to_fetch(emscripten_urllib3, served):
    served(Endpoints())
    seen = []
    send = endpoints._fetch(lambda request, *a, **k: seen.append(request.url) or "fetched")
    for url in ("http://127.0.0.1:8000/x", "https://169.254.169.254/", "http://169.254.169.254:8080/"):
        assert send(_request(url)) == "fetched"
    assert len(seen) == 3


def test_silence_reaches_urllib3s_caller_as_a_socket_timeout_would(emscripten_urllib3, served):
    from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError

    served(Endpoints(route=endpoints.Silent("dropped by the host's packet filter")))
    with pytest.raises(ConnectTimeoutError, match=r"Connection to 169\.254\.169\.254 timed out"):
        endpoints._fetch(_never)(_request("http://169.254.169.254/latest/meta-data/"))

    served(Endpoints(answer=endpoints.Silent("the token's reply runs out of hops")))
    with pytest.raises(ReadTimeoutError, match="Read timed out"):
        endpoints._fetch(_never)(_request("http://169.254.169.254/latest/api/token", "PUT"))

    endpoints.serve(None)  # no instance, no task: nothing answers there, as on a laptop
    with pytest.raises(ConnectTimeoutError):
        endpoints._fetch(_never)(_request("http://169.254.170.2/v2/credentials/abc"))


def test_the_network_guard_stands_on_the_fetch_path_too(emscripten_urllib3):
    guarded = network._guard_fetch(lambda request, *a, **k: "fetched")
    assert guarded(_request("http://127.0.0.1:5000/")) == "fetched"
    assert guarded(_request("http://localhost/")) == "fetched"
    with pytest.raises(SandboxNetworkBlocked, match="nothing leaves"):
        guarded(_request("https://iam.amazonaws.com/"))


# -- Pyodide packages on demand ------------------------------------------------------------------------------------------

@pytest.fixture
def in_pyodide(monkeypatch):
    """sys.platform as in Pyodide, with a fake ``pyodide_js`` and ``pyodide.ffi``; returns what they were asked."""
    asked = {"loaded": [], "can_run_sync": True, "fails": None}
    pyodide_js = types.ModuleType("pyodide_js")

    def load_package(name):
        if asked["fails"]:
            raise asked["fails"]
        asked["loaded"].append(name)
        return f"promise of {name}"

    pyodide_js.loadPackage = load_package
    pyodide = types.ModuleType("pyodide")
    ffi = types.ModuleType("pyodide.ffi")
    ffi.can_run_sync = lambda: asked["can_run_sync"]
    ffi.run_sync = lambda promise: asked.setdefault("waited", []).append(promise)
    pyodide.ffi = ffi
    for name, module in (("pyodide_js", pyodide_js), ("pyodide", pyodide), ("pyodide.ffi", ffi)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "platform", "emscripten")
    return asked


def test_outside_a_browser_loading_a_package_does_nothing():
    assert not browser.in_browser()
    browser.load("matplotlib", "Drawing a diagram")  # no pyodide_js to ask: nothing is asked


def test_in_a_browser_the_package_is_loaded_and_waited_for(in_pyodide):
    assert browser.in_browser()
    browser.load("matplotlib", "Drawing a diagram")
    assert in_pyodide["loaded"] == ["matplotlib"] and in_pyodide["waited"] == ["promise of matplotlib"]


def test_a_browser_that_cannot_wait_in_a_cell_says_what_to_do_in_one_sentence(in_pyodide):
    in_pyodide["can_run_sync"] = False
    with pytest.raises(NotInThisBrowser) as refused:
        browser.load("matplotlib", "Drawing a diagram")
    message = str(refused.value)
    assert message.startswith("Drawing a diagram needs matplotlib") and "`import matplotlib`" in message
    assert message.count(". ") == 0 and message.endswith("again.")


def test_a_package_the_page_cannot_fetch_is_named_with_the_way_out(in_pyodide):
    in_pyodide["fails"] = OSError("NetworkError when attempting to fetch resource")
    with pytest.raises(NotInThisBrowser, match=r"needs matplotlib, which the page could not load \(NetworkError"):
        browser.load("matplotlib", "Drawing a diagram")


def test_the_classroom_says_in_one_sentence_that_it_does_not_run_in_a_browser(in_pyodide, monkeypatch):
    for name in [n for n in sys.modules if n == "grader.classroom" or n.startswith("grader.classroom.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(NotInThisBrowser) as refused:
        import grader.classroom  # noqa: F401
    message = str(refused.value)
    assert "run on the instructor's machine" in message and "File > Download" in message
    assert message.count(". ") == 0


# -- a client for a service whose model the page does not carry ------------------------------------------------------------

def _no_model(self, service_name, type_name, api_version=None):
    from botocore.exceptions import UnknownServiceError

    raise UnknownServiceError(service_name=service_name, known_service_names="ec2, iam, s3")


def test_a_service_aws_has_but_the_page_does_not_carry_is_named_as_the_sandbox_names_it(aws):
    """As in a page, where the loader's patch is in place only while an account runs (its home says what it runs)."""
    from botocore.exceptions import UnknownServiceError

    with pytest.raises(UnknownServiceError) as refused:
        browser.missing_model(_no_model)(None, "dynamodb", "service-2")
    message = str(refused.value)
    assert message.startswith("The sandbox does not run Amazon DynamoDB (dynamodb): this page carries no botocore "
                              "model of it")
    assert "Unknown service" not in message and "Amazon EC2 (ec2)" in message
    assert isinstance(refused.value, NotInThisBrowser)  # shown as its sentence alone in a notebook


def test_a_name_that_is_no_aws_service_keeps_botocores_own_answer():
    from botocore.exceptions import UnknownServiceError

    with pytest.raises(UnknownServiceError, match=r"Unknown service: 'dynamodbb'\. Valid service names are"):
        browser.missing_model(_no_model)(None, "dynamodbb", "service-2")


def test_these_tests_leave_the_process_badges_as_they_found_them():
    assert endpoints._endpoints is None  # the running account answers, or nothing does
