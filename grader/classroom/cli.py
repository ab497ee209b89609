"""The instructor's one command: ``python -m grader.classroom <release|collect|autograde|feedback|export|...> ...``.

Every mistake a user can make (an unknown assignment, a missing file, a bad zip, an unknown student) is reported
in one message that says what and how to fix it, with exit code 2 and no traceback. ``autograde`` exits with 1
when it could not grade every submission (the last line of its output names each one, and why); the others are
graded and recorded all the same.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from grader.classroom.course import Course, UserError
from grader.classroom.isolation import LIMITS, MiB


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a time limit is more than 0 seconds, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.classroom",
        description="The course's grading pipeline, on nbgrader: release -> collect -> autograde -> feedback -> "
                    "export; report says what the class misunderstood.")
    parser.add_argument("--course", metavar="DIR", help="the nbgrader course directory (default: exercises/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    release = sub.add_parser("release", help="generate the student version and prove it (solution passes, "
                                             "nothing leaks)")
    release.add_argument("assignment", nargs="?")
    release.add_argument("--all", action="store_true", help="every assignment in source/")
    release.add_argument("--no-prove", action="store_true", help="skip running the solution (the leak scan "
                                                                 "always runs)")
    release.add_argument("--cell-timeout", type=_seconds, default=120,
                         help="seconds one cell of the solution may run (default 120)")

    collect = sub.add_parser("collect", help="bring submitted notebooks into submitted/<student>/<assignment>/")
    collect.add_argument("assignment")
    collect.add_argument("path", help="a folder or zip: <student>.ipynb or <student>/<notebook>.ipynb")
    collect.add_argument("--roster", help="CSV with a column id (default: students.csv in the course)")
    collect.add_argument("--replace", action="store_true", help="replace submissions collected before (the earlier "
                                                                "copies are kept in submitted/.replaced/)")

    autograde = sub.add_parser("autograde", help="grade every submission in parallel")
    autograde.add_argument("assignment")
    autograde.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="submissions at once")
    autograde.add_argument("--student", action="append", help="only this student (repeatable)")
    autograde.add_argument("--cell-timeout", type=int, default=60, help="seconds one cell may run")
    autograde.add_argument("--notebook-timeout", type=int, default=300, help="seconds one submission may take")
    autograde.add_argument("--memory", type=int, default=LIMITS.memory // MiB, metavar="MIB",
                           help="memory one notebook's kernel may use, all its processes together (MiB)")

    feedback = sub.add_parser("feedback", help="HTML feedback per student (hidden tests never shown)")
    feedback.add_argument("assignment")
    feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    feedback.add_argument("--timeout", type=_seconds, default=120,
                          help="seconds one student's pages may take (default 120); past it, that student gets no "
                               "page, and the summary says so")

    github = sub.add_parser("github-classroom", help="a GitHub Classroom starter repository graded by its visible "
                                                     "checks on GitHub's runner")
    github.add_argument("assignment")
    github.add_argument("--output", required=True, help="a new folder for the starter repository")

    export = sub.add_parser("export", help="grades as CSV")
    export.add_argument("assignment", nargs="?")
    export.add_argument("--all", action="store_true", help="every assignment")
    export.add_argument("--output", help="write the CSV here (default: standard output)")
    export.add_argument("--format", choices=("parts", "canvas"), default="parts",
                        help="parts: a row per submission, a column per graded part (default); canvas: the file "
                             "Canvas's gradebook imports, a row per student on the roster")
    export.add_argument("--roster", help="the roster with the students' LMS ids (default: students.csv)")

    report = sub.add_parser("report", help="what the class misunderstood: one HTML page per assignment, with figures")
    report.add_argument("assignment", nargs="?")
    report.add_argument("--all", action="store_true", help="every assignment of the course")
    report.add_argument("--output", metavar="DIR", help="write the pages here (default: reports/ in the course)")
    report.add_argument("--names", action="store_true", help="name the students (default: student 1..n)")
    report.add_argument("--diagnoses", metavar="FILE", help="read this diagnoses file (one a platform's importer "
                                                            "wrote, say) instead of the course's")

    gradescope = sub.add_parser("gradescope", help="an assignment as a Gradescope autograder zip")
    gradescope.add_argument("assignment")
    gradescope.add_argument("--output", required=True, metavar="ZIP", help="write the autograder zip here")
    return parser


def _assignments(course: Course, args) -> list[str]:
    if args.all and args.assignment:
        raise UserError("Give one assignment or --all, not both.")
    if args.all:
        return course.assignments()
    if not args.assignment:
        raise UserError(f"Name an assignment or pass --all. The assignments are: {', '.join(course.assignments())}.")
    return [course.require_assignment(args.assignment)]


def run(argv: Optional[list] = None) -> int:
    args = _parser().parse_args(argv)
    course = Course(args.course)
    if args.command == "release":
        from grader.classroom.release import release

        failed = 0
        for assignment in _assignments(course, args):
            proof = release(course, assignment, prove=not args.no_prove, cell_timeout=args.cell_timeout)
            print(proof.summary(), flush=True)
            failed += not proof.ok
        return 1 if failed else 0
    if args.command == "collect":
        from grader.classroom.collect import collect

        print(collect(course, args.assignment, Path(args.path), args.roster and Path(args.roster),
                      replace=args.replace).summary())
        return 0
    if args.command == "autograde":
        from grader.classroom.autograde import autograde

        batch = autograde(course, args.assignment, jobs=args.jobs, students=args.student,
                          cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                          memory=args.memory * MiB)
        print(batch.summary())
        return 1 if batch.not_graded else 0
    if args.command == "feedback":
        from grader.classroom.feedback import feedback

        print(feedback(course, args.assignment, students=args.student, timeout=args.timeout).summary())
        return 0
    if args.command == "github-classroom":
        from grader.classroom.github import starter

        print(starter(course, args.assignment, Path(args.output)).summary())
        return 0
    if args.command == "export":
        from grader.classroom.export import export

        text = export(course, _assignments(course, args), Path(args.output) if args.output else None,
                      format=args.format, roster=args.roster and Path(args.roster))
        if not args.output:
            sys.stdout.write(text)
        return 0
    if args.command == "report":
        from grader.classroom.report import report

        if args.diagnoses and args.all:
            raise UserError("--diagnoses is one assignment's file: give that assignment, not --all.")
        for page in report(course, _assignments(course, args), Path(args.output) if args.output else None,
                           names=args.names, diagnoses=Path(args.diagnoses) if args.diagnoses else None):
            print(f"{page.parent.name}: {page}")
        return 0
    if args.command == "gradescope":
        from grader.classroom.gradescope import build

        print(f"{args.assignment}: Gradescope autograder written to {build(course, args.assignment, Path(args.output))}"
              " (upload it as the assignment's autograder; its README.md says what it holds)")
        return 0
    raise AssertionError(args.command)


def main(argv: Optional[list] = None) -> int:
    try:
        return run(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
