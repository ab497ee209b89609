"""Compile wheels to Python bytecode for the in-browser site, inside Pyodide itself (run by tools/lite_compile.mjs).

A browser has no bytecode cache that outlives the page: every visit would compile each module it imports again, which
takes longer than anything else when a chapter starts. Pyodide's own distribution ships its packages compiled for
this reason; the site does the same for the wheels it serves. Compiling inside Pyodide guarantees the bytecode is
exactly what its Python (3.14) reads, whatever Python builds the site.

- In third-party wheels, the modules a chapter imports (``hot``: what a session of the book imports, listed by the
  build) become sourceless (``module.pyc`` in place of ``module.py``), as Pyodide's own are; the rest stay source,
  so that a wheel grows only by what makes a chapter start faster.
- The engine keeps its sources, with ``__pycache__/*.pyc`` beside them, so its tracebacks and ``inspect`` still show
  code. Its bytecode is marked unchecked (PEP 552): the page never compares it with the source.

Every other file is copied unchanged, and RECORD is written anew.

Pyodide's standard library (``python_stdlib.zip``) ships as source too: its modules a session imports are compiled
the same way (zipimport reads ``module.pyc`` in the archive before ``module.py``).
"""

import base64
import hashlib
import importlib.util
import sys
import warnings
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

SITE_PACKAGES = f"/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
TAG = f"py{sys.version_info[0]}{sys.version_info[1]}"  # this Python's bytecode, on any platform


def record_line(name, data):
    """A line of a wheel's RECORD: the file, its sha256 as the wheel format writes it, its size."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def compile_wheel(source, target, keep_sources, hot=None):
    files = {}
    with zipfile.ZipFile(source) as wheel:
        names = wheel.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        for name in names:
            data = wheel.read(name)
            if name == f"{dist_info}/RECORD" or name.endswith("/"):
                continue
            if name == f"{dist_info}/WHEEL":
                lines = [line for line in data.decode().splitlines() if not line.startswith("Tag:")]
                data = ("\n".join(lines + [f"Tag: {TAG}-none-any"]) + "\n").encode()
            if not name.endswith(".py") or name.startswith(dist_info) or (hot is not None and name not in hot):
                files[name] = data
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    code = compile(data, f"{SITE_PACKAGES}/{name}", "exec", dont_inherit=True)
            except SyntaxError:  # a file the package never imports on this Python (a template, a test fixture)
                files[name] = data
                continue
            pyc = bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            if keep_sources:
                folder, _, stem = name.rpartition("/")
                files[name] = data
                files[f"{folder + '/' if folder else ''}__pycache__/{stem[:-3]}.{sys.implementation.cache_tag}.pyc"] = pyc
            else:
                files[name + "c"] = pyc
    record = [record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def _pyc(data, filename):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = compile(data, filename, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))


def compile_stdlib(source, target, hot, archive_path):
    """The standard library's archive with the ``hot`` modules sourceless, as Pyodide imports it from
    ``archive_path``."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in hot:
                try:
                    pyc = _pyc(data, f"{archive_path}/{info.filename}")
                except SyntaxError:
                    zout.writestr(info, data)
                    continue
                zout.writestr(zipfile.ZipInfo(info.filename + "c", date_time=info.date_time), pyc,
                              zipfile.ZIP_DEFLATED)
            else:
                zout.writestr(info, data)


def main(jobs):
    """``jobs``: (source, target, keep sources, hot files or None), paths as Pyodide sees them. A source that is not a
    wheel is the standard library's archive."""
    for source, target, keep_sources, hot in jobs:
        hot = set(hot) if isinstance(hot, list) else None  # JavaScript's null arrives as JsNull
        if source.endswith(".zip"):
            archive = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip"
            compile_stdlib(source, target, hot or set(), archive)
        else:
            compile_wheel(source, target, keep_sources, hot)
