"""The course directory as the pipeline sees it: nbgrader's configuration, API and gradebook, and user errors.

Everything the stages do goes through nbgrader's own Python API (``NbGraderAPI``) and gradebook (``Gradebook``),
configured from the course's ``nbgrader_config.py``. The course directory is the folder that file is in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from grader.errors import GatedCommunityError

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "exercises"


class UserError(GatedCommunityError):
    """Something the person running the pipeline can fix: the message says what, where, and how."""


def _put_tools_on_path() -> None:
    """nbgrader runs the ``alembic`` command to create a gradebook: find it next to this Python, venv or not."""
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = scripts + (os.pathsep + path if path else "")


class Course:
    """One nbgrader course directory: ``source/``, ``release/``, ``submitted/``, ``autograded/``, ``feedback/``."""

    def __init__(self, root: Optional[os.PathLike] = None):
        self.root = Path(root or os.environ.get("GATED_COMMUNITY_COURSE") or DEFAULT_ROOT).resolve()
        self.config_file = self.root / "nbgrader_config.py"
        _put_tools_on_path()
        if not self.config_file.is_file():
            raise UserError(f"There is no nbgrader course in {self.root}: it has no nbgrader_config.py. "
                            "Run the command from the project (the course is exercises/) or pass --course DIR.")

    # -- nbgrader's configuration and API -------------------------------------------------------------------------

    def config(self, **overrides):
        """The course's traitlets configuration, with the course root and gradebook pinned to this directory."""
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader(self.config_file.name, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        if "sanitize_preprocessors" not in config.Autograde:
            # Whoever autogrades (a worker, or the parent recording its result) first puts each submission back in
            # the shape it was released in, so that one slip in a notebook costs that notebook's parts and no more.
            from grader.classroom.normalize import sanitize_preprocessors

            config.Autograde.sanitize_preprocessors = sanitize_preprocessors()
        for dotted, value in overrides.items():
            section, name = dotted.split(".", 1)
            setattr(config[section], name, value)
        merged = Config()
        merged.merge(config)
        return merged

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def course_id(self) -> str:
        return str(self.config().CourseDirectory.course_id)

    def api(self, **overrides):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self.config(**overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    # -- the folders ----------------------------------------------------------------------------------------------

    def assignments(self) -> list[str]:
        source = self.root / "source"
        return sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if source.is_dir() else []

    def require_assignment(self, assignment: str) -> str:
        known = self.assignments()
        if assignment not in known:
            raise UserError(f"There is no assignment {assignment!r} in {self.root / 'source'}. "
                            f"The assignments are: {', '.join(known) or '(none)'}.")
        return assignment

    def source_notebook(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{assignment}.ipynb"

    def notebook_names(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in (self.root / "source" / assignment).glob("*.ipynb"))

    def folder(self, stage: str, *parts: str) -> Path:
        return self.root.joinpath(stage, *parts)

    def students(self) -> list[str]:
        with self.gradebook() as gb:
            return sorted(s.id for s in gb.students)


def printable(text: str) -> str:
    """Text that may come from a submission, fit for a terminal: no escape sequence or other control character."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
