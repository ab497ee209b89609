"""How fast the in-browser edition opens a chapter and runs it, and how much a first visit downloads.

Measured in Debian's headless Chromium against an offline copy of the built site (``tests/lite_offline.py``) served
on 127.0.0.1, for chapter 1 and for chapter 5, one of the heaviest:

- **cold**: a new browser profile opens the chapter in JupyterLite's Notebook and runs every cell in order. "First
  output" is the time from navigation to the end of the first cell that shows an output (the kernel starts on the
  way, so this is what a learner waits before the first answer); "open" is navigation to the notebook on screen,
  "kernel ready" to the kernel's first answer (Pyodide loaded, the engine preloaded), "run all" to the last cell
  done. First output less kernel ready is the time the chapter's own first cells take (the sandbox starting).
- **warm**: the same profile again, in a new browser process (the visitor who comes back): its HTTP cache is kept.
  The server marks every file fresh for ten minutes (``Cache-Control: max-age=600``, as GitHub Pages does), so the
  warm visit does not depend on how old the built files happen to be.
- **downloaded**: every byte the server wrote for the cold visit (headers included), and what the same files weigh
  compressed with gzip at level 6, as a static host such as GitHub Pages sends them. The largest files are listed.

The goals are printed beside the measurements as measured / goal (below 1 meets the goal): first output within 20 s
cold and 5 s warm, and below 30 MB compressed. The offline copy serves small stand-ins for the few compiled packages
the published site takes from Pyodide's CDN; those are left out of the totals and named instead. The site measured
is ``_build/html/lite`` if ``make book`` built one, else one built here with ``tools/lite.py`` (the output says which).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "tests"))

import lite_browser  # noqa: E402  (tests/, the browser helpers the tests use too)
import lite_offline  # noqa: E402

CHAPTERS = ("01_gated_community.ipynb", "05_instance_profile.ipynb")
GOAL_COLD_S = 20.0
GOAL_WARM_S = 5.0
GOAL_COMPRESSED_MB = 30.0
LARGEST = 5
MB = 1024 * 1024


class _PagesLike(lite_browser.Counting):
    """The counting server, with the caching header GitHub Pages sends."""

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()


def _missing_browser() -> str | None:
    missing = [str(p) for p in (lite_browser.CHROMIUM, lite_browser.CHROMEDRIVER) if not p.exists()]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (make setup)")
    if missing:
        return (f"needs {' and '.join(missing)}: run 'sudo apt-get install -y chromium chromium-driver' "
                "(or 'make browser')")
    return None


def _site(work: Path) -> tuple[Path, str]:
    """The built in-browser site, and where it came from."""
    built = ROOT / "_build" / "html" / "lite"
    if (built / "jupyter-lite.json").is_file():
        return built, "_build/html/lite, from make book"
    out = work / "built" / "lite"
    # The site carries the released exercises, so they are released first, as make book does (without proving the
    # solutions again: that is the tests' work, not a benchmark's).
    release = [sys.executable, str(ROOT / "book" / "_ext" / "release_exercises.py"), "--no-prove"]
    subprocess.run(release, cwd=ROOT, check=True, capture_output=True, timeout=900)
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "lite.py"), "--output", str(out),
                             "--work", str(work / "lite-work")], cwd=ROOT, capture_output=True, text=True,
                            timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"the in-browser site did not build:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return out, "built now by tools/lite.py (there is no _build/html/lite)"


def _standins(site: Path) -> dict[Path, str]:
    """The stand-in wheels the offline copy serves in place of Pyodide's CDN packages, and their package names."""
    import json

    lock = json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text())
    return {(site / "static" / "pyodide" / lock["packages"][name]["file_name"]).resolve(): name
            for name in lite_offline._sources()}


@functools.lru_cache(maxsize=None)
def _gzipped(file: Path) -> int:
    return len(gzip.compress(file.read_bytes(), compresslevel=6))


def transfer(log: list, site: Path, standins: dict[Path, str] | None = None) -> dict:
    """What one visit downloaded, from the server's log (a list of ``lite_browser.Served``).

    ``sent`` is every byte written, headers and 304s included; ``gzipped`` is the files sent in full, each compressed
    with gzip -6; ``largest`` the biggest of those files (path in the site, bytes, gzipped bytes). Stand-ins are left
    out of all three and returned by package name (``standins`` maps their files to it).
    """
    site, standins = site.resolve(), standins or {}
    kept, skipped = [], set()
    for served in log:
        if served.file is not None and served.file.resolve() in standins:
            skipped.add(standins[served.file.resolve()])
        else:
            kept.append(served)
    files = [s.file.resolve() for s in kept if s.status == 200 and s.file is not None]
    sizes = {f: f.stat().st_size for f in files}
    largest = sorted(sizes, key=sizes.get, reverse=True)[:LARGEST]
    return {
        "requests": len(kept),
        "not modified": sum(1 for s in kept if s.status == 304),
        "failed": sorted({s.path for s in kept if s.status >= 400}),
        "sent": sum(s.bytes for s in kept),
        "gzipped": sum(_gzipped(f) for f in files),
        "largest": [(f.relative_to(site).as_posix(), sizes[f], _gzipped(f)) for f in largest],
        "standins": sorted(skipped),
    }


def _errors(model: dict) -> list[str]:
    """The errors the run left in the notebook, one line each."""
    return [f"{output['ename']}: {output['evalue']}".splitlines()[0][:100] for cell in model["cells"]
            if cell["cell_type"] == "code" for output in cell.get("outputs", []) if output["output_type"] == "error"]


# Resolves once the notebook's kernel has answered its first request: Pyodide is loaded and the engine preloaded.
_KERNEL_READY = """
const done = arguments[arguments.length - 1];
(async () => {
  try {
    const context = window.jupyterapp.shell.currentWidget.sessionContext;
    while (!(context.session && context.session.kernel)) await new Promise(r => setTimeout(r, 50));
    await context.session.kernel.info;
    done({ok: true});
  } catch (e) { done({error: String(e)}); }
})();
"""


def visit(base: str, profile: Path, chapter: str) -> dict:
    """Open a chapter in a new browser on ``profile`` and run every cell; seconds from navigation."""
    with lite_browser.chromium(profile) as driver:
        started = time.perf_counter()
        lite_browser.open_notebook(driver, base, chapter)
        opened = time.perf_counter() - started
        kernel = driver.execute_async_script(_KERNEL_READY)
        if "error" in kernel:
            raise RuntimeError(f"{chapter}: the kernel did not start: {kernel['error']}")
        ready = time.perf_counter() - started
        state = lite_browser.run_all(driver)
        done = time.perf_counter() - started
        errors = _errors(lite_browser.notebook(driver))
    if state["first_output"] is None:
        raise RuntimeError(f"{chapter}: no cell showed an output")
    # run_all counts from its own start, which is when the kernel was ready.
    return {"open": opened, "kernel ready": ready, "first output": ready + state["first_output"] / 1000,
            "run all": done, "errors": errors}


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def run() -> dict:
    reason = _missing_browser()
    if reason:
        return {"skipped": reason}
    work = Path(tempfile.mkdtemp(prefix="bench-lite-"))
    try:
        site, origin = _site(work)
        offline = lite_offline.offline_site(site, work / "offline")
        standins = _standins(offline)
        handler = _PagesLike.new()
        results: dict = {"site": origin}
        goals: dict = {}
        largest: dict = {}
        with lite_browser.serve(offline, handler) as base:
            for chapter in CHAPTERS:
                name = chapter.split("_")[0]
                profile = work / f"profile-{name}"
                visits = {}
                for kind in ("cold", "warm"):
                    with handler.lock:
                        handler.log.clear()
                    timing = visit(base, profile, chapter)
                    with handler.lock:
                        visits[kind] = (timing, transfer(list(handler.log), offline, standins))
                (cold, cold_bytes), (warm, warm_bytes) = visits["cold"], visits["warm"]
                for kind, (timing, _) in visits.items():
                    for what in ("open", "kernel ready", "first output", "run all"):
                        results[f"{name} {kind}: {what}, s"] = timing[what]
                results[f"{name} cold / warm, first output"] = cold["first output"] / warm["first output"]
                results[f"{name} cold: requests"] = cold_bytes["requests"]
                results[f"{name} cold: sent, MB"] = cold_bytes["sent"] / MB
                results[f"{name} cold: gzip -6, MB"] = cold_bytes["gzipped"] / MB
                results[f"{name} warm: requests (not modified)"] = (f"{warm_bytes['requests']} "
                                                                    f"({warm_bytes['not modified']})")
                results[f"{name} warm: sent, MB"] = warm_bytes["sent"] / MB
                failed = sorted(set(cold_bytes["failed"] + warm_bytes["failed"]))
                if failed:
                    results[f"{name} requests that failed"] = ", ".join(failed)
                if cold["errors"] or warm["errors"]:
                    # A chapter that fails part-way runs faster than one that works: its times are not comparable.
                    first = (cold["errors"] or warm["errors"])[0]
                    results[f"{name} CELLS FAILED, s are not comparable"] = (
                        f"{len(cold['errors'])} cold, {len(warm['errors'])} warm; first: {first}")
                if cold_bytes["standins"]:
                    results[f"{name} from Pyodide's CDN, not counted"] = ", ".join(cold_bytes["standins"])
                goals[f"goal: {name} cold first output / {GOAL_COLD_S:.0f} s"] = cold["first output"] / GOAL_COLD_S
                goals[f"goal: {name} warm first output / {GOAL_WARM_S:.0f} s"] = warm["first output"] / GOAL_WARM_S
                goals[f"goal: {name} gzip -6 / {GOAL_COMPRESSED_MB:.0f} MB"] = (cold_bytes["gzipped"] / MB
                                                                               / GOAL_COMPRESSED_MB)
                for path, size, packed in cold_bytes["largest"]:
                    largest[path] = (size, packed)
        results.update(goals)
        top = sorted(largest.items(), key=lambda item: item[1][0], reverse=True)[:LARGEST]
        for rank, (path, (size, packed)) in enumerate(top, 1):
            results[f"largest {rank}"] = f"{path}: {_mb(size)}, {_mb(packed)} gzipped"
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)
