"""gradescope: an assignment as a Gradescope autograder, and the grading of one submission inside it.

    python -m grader.classroom gradescope <assignment> --output autograder.zip     (the instructor: build the zip)
    python -m grader.classroom.gradescope                                          (run_autograder: grade one notebook)

The zip follows Gradescope's autograder specification: ``setup.sh`` and ``run_autograder`` at its root, unpacked by
Gradescope into ``/autograder/source``. It carries the engine (``engine/``: the ``grader`` package, ``pyproject.toml``
and the exact pins of ``requirements.txt``), the course as grading needs it (``course/``: nbgrader's configuration,
``source/<assignment>/`` with its solutions and hidden tests, and a gradebook that knows the assignment), and
``gradescope.json``: each graded part's name, points and visibility.

Inside the container, one submission is graded by the local pipeline itself: a scratch course is made from
``course/``, the notebook in ``/autograder/submission`` is collected as one student and autograded (one job, the same
judge and walls as on an instructor's machine), then ``/autograder/results/results.json`` is written from nbgrader's
gradebook: one test per graded part, its output the feedback's words for it (hidden tests and solutions scrubbed as
the feedback pages scrub them). ``run_autograder`` writes a results file that says so if this module fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Optional

from grader.classroom.course import Course, UserError, printable

MANIFEST = "gradescope.json"
STUDENT = "learner"  # the one student of the scratch course
KERNEL_MEMORY_MIB = 512  # of Gradescope's 768 MB for the whole container; the grader and its worker need the rest
NOTEBOOK_TIMEOUT = 420  # seconds: well inside Gradescope's 10 minutes, on half a CPU
CELL_TIMEOUT = 120
GRADER_SECONDS = 540  # the whole grading, with the grader's own start and the results: under Gradescope's 600
VENV = "/opt/gated-community"
ENGINE_FILES = ("pyproject.toml", "requirements.txt")


# -- the instructor's side: the zip ---------------------------------------------------------------------------------

def parts(course: Course, assignment: str) -> list[dict]:
    """Each graded part of the assignment's notebooks, in order: its test cell's id, name, points and visibility, and
    the answer cells before it (their nbgrader comments belong to it)."""
    import nbformat

    from grader.classroom.preprocessors import hidden_spans

    found = []
    for name in course.notebook_names(assignment):
        source = nbformat.read(course.source_notebook(assignment).with_name(f"{name}.ipynb"), as_version=4)
        answers: list[str] = []
        for cell in source.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and not meta.get("grade"):
                answers.append(meta.get("grade_id"))
            elif meta.get("grade") and cell.cell_type == "code":
                first = cell.source.splitlines()[0] if cell.source else ""
                title = first.removeprefix("# Test:").strip() if first.startswith("# Test:") else meta["grade_id"]
                title = re.sub(r"\s*\([\d.]+ points?\)$", "", title)  # Gradescope shows the points itself
                found.append({"notebook": name, "grade_id": meta["grade_id"], "name": title,
                              "points": float(meta.get("points") or 0),
                              "visibility": "after_published" if hidden_spans(cell.source) else "visible",
                              "answers": answers})
                answers = []
    return found


def build(course: Course, assignment: str, output: Path) -> Path:
    """Write the autograder zip of ``assignment`` at ``output``; return its path."""
    import grader

    course.require_assignment(assignment)
    output = Path(output).expanduser().resolve()
    if output.is_dir():
        raise UserError(f"{output} is a folder: give the zip's file name, for example "
                        f"{output / (assignment + '.zip')}.")
    if not output.parent.is_dir():
        raise UserError(f"Cannot write {output}: the folder {output.parent} does not exist. Create it, or choose "
                        "another --output.")
    if not os.access(output.parent, os.W_OK):
        raise UserError(f"Cannot write {output}: the folder {output.parent} is not writable for you. Choose another "
                        "--output.")
    engine = Path(grader.__file__).resolve().parent
    project = engine.parent
    missing = [f for f in ENGINE_FILES if not (project / f).is_file()]
    if missing:
        raise UserError(f"The engine at {project} has no {', '.join(missing)}: build the zip from a checkout of the "
                        "project, where the exact pins are.")
    with tempfile.TemporaryDirectory(prefix="gradescope-build-") as scratch:
        scratch_course = _scratch_course(course, assignment, Path(scratch) / "course")
        manifest = {"assignment": assignment, "course_id": course.course_id, "parts": parts(course, assignment)}
        temporary = output.with_name(f".{output.name}.partial")
        try:
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                _add(archive, "setup.sh", SETUP_SH, 0o755)
                _add(archive, "run_autograder", RUN_AUTOGRADER, 0o755)
                _add(archive, "README.md", README.replace("{assignment}", assignment))
                _add(archive, MANIFEST, json.dumps(manifest, indent=1) + "\n")
                for file in ENGINE_FILES:
                    _add(archive, f"engine/{file}", (project / file).read_bytes())
                for file in sorted(engine.rglob("*")):
                    if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                        _add(archive, f"engine/grader/{file.relative_to(engine).as_posix()}", file.read_bytes())
                for file in sorted(scratch_course.rglob("*")):
                    if file.is_file():
                        _add(archive, f"course/{file.relative_to(scratch_course).as_posix()}", file.read_bytes())
            os.replace(temporary, output)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise UserError(f"Cannot write {output}: {error.strerror or error}.") from None
    return output


def _scratch_course(course: Course, assignment: str, where: Path) -> Path:
    """The course as grading one submission needs it: configuration, the assignment's source, a gradebook that
    knows the assignment (nbgrader's generate_assignment writes it; the released notebook is not kept)."""
    where.mkdir(parents=True)
    shutil.copyfile(course.config_file, where / "nbgrader_config.py")
    shutil.copytree(course.folder("source", assignment), where / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    from grader.classroom.release import generate

    generate(Course(where), assignment)
    shutil.rmtree(where / "release", ignore_errors=True)
    return where


def _add(archive: zipfile.ZipFile, name: str, data, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data.encode() if isinstance(data, str) else data)


# -- inside Gradescope's container: one submission -------------------------------------------------------------------

def grade(root: Path) -> dict:
    """Grade the notebook in ``root/submission`` with the course in ``root/source``; the results, as a dict."""
    started = time.perf_counter()
    source = root / "source"
    manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    assignment = manifest["assignment"]
    with tempfile.TemporaryDirectory(prefix="gradescope-") as scratch:
        os.chmod(scratch, 0o700)
        course_root = Path(scratch) / "course"
        shutil.copytree(source / "course", course_root)
        (course_root / "students.csv").write_text(f"id,first_name,last_name,email\n{STUDENT},,,\n")
        course = Course(course_root)
        notebook, found = _submitted(root / "submission", course.notebook_names(assignment))
        if notebook is None:
            results = _unanswered(manifest, found)
        else:
            inbox = Path(scratch) / "inbox"
            inbox.mkdir()
            shutil.copyfile(notebook, inbox / f"{STUDENT}.ipynb")
            from grader.classroom.autograde import autograde
            from grader.classroom.collect import collect

            collect(course, assignment, inbox)
            batch = autograde(course, assignment, jobs=1, students=[STUDENT], progress=lambda graded: None,
                              cell_timeout=CELL_TIMEOUT, notebook_timeout=NOTEBOOK_TIMEOUT,
                              memory=_kernel_memory())
            results = _results(course, manifest, batch.graded[0], notebook.name)
    results["execution_time"] = round(time.perf_counter() - started)
    return results


def _kernel_memory() -> int:
    """The kernel's share of the container's memory, where it can be held to it by a memory cgroup of its own; else
    0 (the pipeline's default). Without a cgroup the limit would be each process's address space, which a Python with
    numpy maps far beyond what it uses: the container's own limit then holds, and the kernel is the first to go."""
    from grader.classroom.isolation import CGROUP_PREFIX, isolation_mode, memory_cgroup, remove_cgroup

    if isolation_mode() == "plain":
        return 0
    probe = memory_cgroup(f"{CGROUP_PREFIX}{os.getpid()}-probe", KERNEL_MEMORY_MIB * 1024 * 1024)
    if probe is None:
        return 0
    remove_cgroup(probe)
    return KERNEL_MEMORY_MIB * 1024 * 1024


def _submitted(folder: Path, names: list[str]) -> tuple[Optional[Path], list[str]]:
    """The notebook handed in: the assignment's own name if it is there, else the one ``.ipynb`` (the first, if
    several); and what the submission holds."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    shown = [str(p.relative_to(folder)) for p in files][:20]
    for name in names:
        for file in files:
            if file.name == f"{name}.ipynb":
                return file, shown
    notebooks = [p for p in files if p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts]
    return (notebooks[0] if notebooks else None), shown


def _unanswered(manifest: dict, found: list[str]) -> dict:
    held = ", ".join(found) if found else "nothing"
    why = (f"Not graded: the submission holds no notebook (.ipynb) to grade; it holds {held}. Submit "
           f"{manifest['assignment']}.ipynb as you downloaded it from Jupyter.")
    tests = [_test(n, part, 0.0, why) for n, part in enumerate(manifest["parts"], 1)]
    return _document(manifest, tests, why)


def _test(number: int, part: dict, score: float, output: str) -> dict:
    return {"name": part["name"], "number": str(number), "score": score, "max_score": part["points"],
            "status": "passed" if score >= part["points"] else "failed", "output": output.strip() + "\n",
            "visibility": part["visibility"]}


def _document(manifest: dict, tests: list[dict], output: str) -> dict:
    return {"score": sum(t["score"] for t in tests), "output": output.strip() + "\n", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def _results(course: Course, manifest: dict, graded, handed_in: str) -> dict:
    assignment = manifest["assignment"]
    scrub = _scrubber(course, assignment)
    scores, comments = _gradebook(course, assignment)
    words = {} if graded.problem else _feedback_words(course, assignment, scrub)
    lines = [f"{assignment}: {graded.score:g}/{graded.max_score:g} from {handed_in}."]
    if graded.problem:
        lines.append(f"Not graded: {graded.problem}. The parts below are zero because nothing could be graded, not "
                     "because they were wrong.")
    if graded.repairs:
        lines.append("Before grading, your notebook was put back in the shape it was released in:")
        lines += [f"  - {repair}" for repair in graded.repairs]
    tests = []
    for number, part in enumerate(manifest["parts"], 1):
        score = scores.get((part["notebook"], part["grade_id"]), 0.0)
        text = []
        if graded.problem:
            text.append(f"Not graded: {graded.problem}.")
        else:
            text.append(words.get((part["notebook"], part["grade_id"]), ""))
            for answer in part["answers"]:
                said = comments.get((part["notebook"], answer))
                if said:
                    text.append(f"{answer}: {said}")
        text.append(f"Score: {score:g}/{part['points']:g}")
        tests.append(_test(number, part, score, scrub("\n".join(t for t in text if t))))
    results = _document(manifest, tests, scrub("\n".join(lines)))
    results["score"] = float(graded.score)
    return results


def _gradebook(course: Course, assignment: str) -> tuple[dict, dict]:
    """nbgrader's record of the one submission: each graded cell's score, each answer cell's comment."""
    scores, comments = {}, {}
    with course.gradebook() as gb:
        submission = gb.find_submission(assignment, STUDENT)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                scores[(notebook.name, grade.name)] = float(grade.score)
            for comment in notebook.comments:
                comments[(notebook.name, comment.name)] = comment.auto_comment
    return scores, comments


def _scrubber(course: Course, assignment: str):
    """A function that cuts every line of a hidden test and of the solution out of a text, as the feedback does."""
    import nbformat

    from grader.classroom.preprocessors import _scrub, secrets

    lines: set = set()
    for name in course.notebook_names(assignment):
        hidden, solutions = secrets(nbformat.read(course.folder("source", assignment, f"{name}.ipynb"), as_version=4))
        lines |= hidden | solutions
    ordered = sorted(lines, key=len, reverse=True)
    return lambda text: printable_lines(_scrub(text, ordered, regions=True))


def printable_lines(text: str) -> str:
    return "\n".join(printable(line) for line in text.splitlines())


def _feedback_words(course: Course, assignment: str, scrub) -> dict:
    """What each test cell of the autograded notebook said, as the feedback shows it (hidden tests hidden)."""
    import nbformat
    from nbgrader.api import MissingEntry  # noqa: F401 (nbgrader is what wrote the notebook)

    from grader.classroom.preprocessors import HideHiddenTests, secrets

    words = {}
    for name in course.notebook_names(assignment):
        path = course.folder("autograded", STUDENT, assignment, f"{name}.ipynb")
        if not path.is_file():
            continue
        hidden, solutions = secrets(nbformat.read(course.folder("source", assignment, f"{name}.ipynb"), as_version=4))
        notebook = nbformat.read(path, as_version=4)
        notebook, _ = HideHiddenTests(hidden=sorted(hidden), solutions=sorted(solutions)).preprocess(notebook, {})
        for cell in notebook.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            text = []
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    text.append(str(output.get("text", "")).rstrip())
                elif output.output_type == "error":
                    text.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip())
            words[(name, meta.get("grade_id"))] = "\n".join(t for t in text if t)
    return words


def failure(message: str, manifest: Optional[dict] = None) -> dict:
    """The results of a grading that failed in the grader itself: zero for each part, and what happened."""
    why = (f"The autograder itself failed, not your notebook: {message}. Your instructor can see the details in "
           "the autograder's output; resubmit later, or ask them to regrade.")
    if manifest and manifest.get("parts"):
        return _document(manifest, [_test(n, p, 0.0, why) for n, p in enumerate(manifest["parts"], 1)], why)
    return {"score": 0.0, "output": why + "\n", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def main() -> int:
    """Grade one submission under ``AUTOGRADER_ROOT`` (``/autograder``) and write its ``results/results.json``;
    whatever fails, a results file that says so."""
    root = Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    target = root / "results" / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest = None
    try:
        manifest = json.loads((root / "source" / MANIFEST).read_text(encoding="utf-8"))
        results = grade(root)
        code = 0
    except BaseException as error:  # the grader's own failure: the learner still gets a results file
        import traceback

        traceback.print_exc()
        results = failure(f"{type(error).__name__}: {printable(str(error))[:300]}", manifest)
        code = 1
    partial = target.with_name(".results.json.partial")
    partial.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, target)
    print(f"gradescope: {results['score']:g} points; results in {target}", file=sys.stderr)
    return code


# -- the files at the zip's root ------------------------------------------------------------------------------------

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04, whose python3 is 3.10):
# Python 3.11, a virtual environment at VENV, the exact pins of engine/requirements.txt, then the engine itself.
set -euxo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq software-properties-common util-linux
if ! apt-cache show python3.11-venv >/dev/null 2>&1; then
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update -qq
fi
apt-get install -y -qq python3.11 python3.11-venv
python3.11 -m venv VENV
VENV/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
VENV/bin/python -m pip install --quiet --disable-pip-version-check -r engine/requirements.txt
VENV/bin/python -m pip install --quiet --disable-pip-version-check --no-deps ./engine
VENV/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3"
VENV/bin/python -c "import grader.classroom.gradescope, nbgrader; print('the engine is installed')"
""".replace("VENV", VENV)

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission: grade the notebook in $AUTOGRADER_ROOT/submission and always leave
# $AUTOGRADER_ROOT/results/results.json, even when the grader itself fails.
#   AUTOGRADER_ROOT     default /autograder (Gradescope's)
#   AUTOGRADER_PYTHON   default the interpreter setup.sh installed (VENV/bin/python)
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADER_PYTHON:-VENV/bin/python}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results/results.json"
export AUTOGRADER_ROOT="$ROOT"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# The solutions and hidden tests: only the grader's user may read them, and a walled kernel does not see them.
chmod go-rwx "$SOURCE" 2>/dev/null || true
export GATED_COMMUNITY_PRIVATE="$SOURCE${GATED_COMMUNITY_PRIVATE:+:$GATED_COMMUNITY_PRIVATE}"
# The engine of this zip, whatever else the interpreter has installed, copied where a kernel may read it: the
# source folder stays the grader's alone.
ENGINE="$ROOT/engine"
rm -rf "$ENGINE" && mkdir -p "$ENGINE" && cp -R "$SOURCE/engine/grader" "$ENGINE/" && chmod -R a+rX "$ENGINE" || true
export PYTHONPATH="$ENGINE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
cd "$ROOT"
# Past GRADER_SECONDS s the grader is stopped (its worker and kernel die with it), so that a results file is written
# before Gradescope's own limit ends everything.
timeout --kill-after=15 GRADER_SECONDS "$PY" -m grader.classroom.gradescope
status=$?
if [ ! -s "$RESULTS" ]; then
  echo "run_autograder: the grader exited with $status and wrote no results; writing a results file that says so" >&2
  "$PY" - "$RESULTS" "$status" <<'PYTHON' || true
import json, sys
what = ("ran past its time limit" if sys.argv[2] in ("124", "137") else f"exited with status {sys.argv[2]}")
why = (f"The autograder itself failed, not your notebook (the grader {what}). Your instructor can see the details "
       "in the autograder's output; resubmit later, or ask them to regrade.")
json.dump({"score": 0.0, "output": why, "visibility": "visible", "stdout_visibility": "hidden", "tests": []},
          open(sys.argv[1], "w"))
PYTHON
fi
if [ ! -s "$RESULTS" ]; then
  printf '%s\n' '{"score": 0.0, "output": "The autograder itself failed, not your notebook: its Python could not run. Your instructor can see the details in the autograder output.", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}' > "$RESULTS"
fi
exit 0
""".replace("VENV", VENV).replace("GRADER_SECONDS", str(GRADER_SECONDS))

README = """# Gradescope autograder for {assignment}

Built by `python -m grader.classroom gradescope {assignment} --output <zip>` (The Gated Community).

Upload this zip as the autograder of a Gradescope "Programming Assignment" (base image: Ubuntu 22.04). Students
submit the notebook `{assignment}.ipynb` as they downloaded it from Jupyter.

- `setup.sh` installs Python 3.11, a virtual environment at `VENV` with the exact pins of `engine/requirements.txt`,
  and the engine (`engine/`).
- `run_autograder` grades `/autograder/submission/*.ipynb` with the course in `course/` (solutions and hidden tests:
  never shown) and writes `/autograder/results/results.json`: one test per graded part. Parts whose tests are hidden
  are shown to students after you publish the grades.
- `gradescope.json` names each part, its points and when students see it.
""".replace("VENV", VENV)


if __name__ == "__main__":
    raise SystemExit(main())
