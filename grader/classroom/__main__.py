"""``python -m grader.classroom``: the instructor's pipeline (see grader.classroom.cli)."""

from grader.classroom.cli import main

raise SystemExit(main())
