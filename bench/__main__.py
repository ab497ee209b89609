"""Run every benchmark (``make bench``) and print what each measured, ratios first.

Each ``bench/bench_*.py`` module has ``run() -> dict``: names to numbers or short strings. Ratios are measured
within one run, against a baseline taken on the same machine at the same time, because this machine is shared and
absolute seconds mean little. ``python -m bench policy gatehouse`` runs only the benchmarks named.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def _modules(selected: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if selected:
        wanted = {f"bench_{s.removeprefix('bench_')}" for s in selected}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"bench: no benchmark named {', '.join(sorted(unknown))}; there are: "
                             + ", ".join(n.removeprefix('bench_') for n in names))
        names = [n for n in names if n in wanted]
    return names


def main(argv: list[str]) -> int:
    failed = 0
    for name in _modules(argv):
        print(f"== {name.removeprefix('bench_')}", flush=True)
        started = time.perf_counter()
        try:
            results = importlib.import_module(f"bench.{name}").run()
        except Exception:
            failed += 1
            traceback.print_exc()
            continue
        width = max((len(k) for k in results), default=0)
        for key, value in results.items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"   {key:<{width}}  {shown}")
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
