"""How the time to find hidden tests grows with a learner's text: an answer cell of unmatched markers (a cell built
to stall feedback), scanned as HideHiddenTests scans a cell's source and its outputs.

Reported: the time for 2n markers over the time for n, for the one-pass scanner (goal about 2: linear) and, on
smaller cells, for the backtracking patterns it replaced (about 4 or more: quadratic), each a ratio within one run;
each time is the best of several, with the garbage collector paused, as this machine is shared.
"""

from __future__ import annotations

import gc
import re
import time

SIZE = 20_000  # markers in the larger cell the scanner is timed on
OLD_SIZE = 1_000  # the patterns it replaced take minutes well before 20,000
_OLD_HIDDEN = re.compile(r"[ \t]*###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[ \t]*", re.S)
_OLD_REGION = re.compile(r"###\s*BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)###\s*END \1", re.S)


def _cell(n: int) -> str:
    return "# " + "### BEGIN HIDDEN TESTS " * n + "\n" + "### BEGIN SOLUTION\n" * n


def _best(work, repeat: int = 5) -> float:
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
    finally:
        gc.enable()
    return min(times)


def _scanner(n: int) -> float:
    from grader.classroom.preprocessors import hidden_spans, regions, without_secrets

    text = _cell(n)
    return _best(lambda: (hidden_spans(text), regions(text), without_secrets(text)))


def _patterns(n: int) -> float:
    text = _cell(n)
    return _best(lambda: (_OLD_HIDDEN.search(text), _OLD_REGION.sub("", text)), repeat=1)


def run() -> dict:
    small, large = _scanner(SIZE // 2), _scanner(SIZE)
    old_small, old_large = _patterns(OLD_SIZE // 2), _patterns(OLD_SIZE)
    return {
        f"scanner: time for {SIZE:,} markers / {SIZE // 2:,} (goal about 2)": large / small,
        f"scanner: s for {SIZE:,} markers": large,
        f"replaced patterns: time for {OLD_SIZE:,} markers / {OLD_SIZE // 2:,}": old_large / old_small,
        f"replaced patterns: s for {OLD_SIZE:,} markers": old_large,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<58} {value:.3f}")
