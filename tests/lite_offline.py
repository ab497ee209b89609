"""The in-browser site as the offline browser tests run it: a copy of the built site with stand-ins for the few
compiled packages the published site loads from Pyodide's own distribution (its CDN cannot be reached here).

What stands in, and why, is in ``tests/fixtures/lite-standins/README.md``. The stand-ins go into the copy only: the
published site (``_build/html/lite``) keeps pointing at Pyodide's packages, and ``test_lite_site`` proves it.
"""

from __future__ import annotations

import importlib.metadata
import hashlib
import json
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STANDINS = ROOT / "tests" / "fixtures" / "lite-standins"

sys.path.insert(0, str(ROOT / "tools"))
from lite_compile import record_line  # noqa: E402  (the wheel RECORD line the build writes too)


def _installed(package: str) -> Path:
    """A package's folder in this (CPython) environment."""
    module = __import__(package)
    return Path(module.__file__).parent


def _sources() -> dict[str, tuple[str, str, Path]]:
    """Each stand-in: the lock's package name -> (distribution name, version, folder of pure-Python modules)."""
    import yaml

    return {
        "markupsafe": ("markupsafe", importlib.metadata.version("markupsafe"),
                       _installed("markupsafe")),
        "pyyaml": ("pyyaml", yaml.__version__, _installed("yaml")),
        "cryptography": ("cryptography", "0+standin", STANDINS / "cryptography"),
        "matplotlib": ("matplotlib", "0+standin", STANDINS / "matplotlib"),
    }


def standin_wheel(distribution: str, version: str, package: Path, folder: Path) -> Path:
    """A py3-none-any wheel of the .py files under ``package`` (compiled speedups left out)."""
    safe = distribution.replace("-", "_")
    wheel = folder / f"{safe}-{version}-py3-none-any.whl"
    dist_info = f"{safe}-{version}.dist-info"
    files: dict[str, bytes] = {}
    for source in sorted(package.rglob("*.py")):
        files[f"{package.name}/{source.relative_to(package).as_posix()}"] = source.read_bytes()
    files[f"{dist_info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
                                      "Summary: stand-in for the offline browser tests\n").encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests/lite_offline.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist_info}/top_level.txt"] = f"{package.name}\n".encode()
    record = [record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def offline_site(site: Path, destination: Path) -> Path:
    """A copy of the built in-browser site whose lock file loads stand-ins instead of Pyodide's CDN packages."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(site, destination)
    static = destination / "static" / "pyodide"
    lock_path = static / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    for name, (distribution, version, package) in _sources().items():
        wheel = standin_wheel(distribution, version, package, static)
        entry = lock["packages"][name]
        entry.update({
            "version": version, "file_name": wheel.name, "depends": [],
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(), "imports": [package.name],
            "package_type": "package", "install_dir": "site",
        })
    lock_path.write_text(json.dumps(lock, indent=1))
    # The tests drive the page through JupyterLab's application object, which the page exposes on request.
    config_path = destination / "jupyter-lite.json"
    config = json.loads(config_path.read_text())
    config["jupyter-config-data"]["exposeAppInBrowser"] = True
    config_path.write_text(json.dumps(config, indent=2))
    return destination


if __name__ == "__main__":
    print(offline_site(Path(sys.argv[1]), Path(sys.argv[2])))
