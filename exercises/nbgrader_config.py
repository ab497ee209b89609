"""nbgrader's configuration for the course: source/ -> release/ -> submitted/ -> autograded/ -> feedback/.

The instructor's pipeline (``python -m grader.classroom``) reads this file too; the course directory is the folder it
lives in, whatever the current directory.
"""

import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.course_id = "gated-community"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# A learner who deletes a test cell does not escape it: nbgrader puts it back before grading.
c.OverwriteCells.add_missing_cells = True

# Per-cell timeout: an infinite loop costs one cell, interrupted, not the whole notebook.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# Huge outputs are cut before they reach the gradebook and the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
