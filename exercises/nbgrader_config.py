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

# No script of a learner runs in a reader's browser: nbconvert sanitises the HTML of markdown cells and outputs when
# it renders a notebook (nbgrader's formgrader, which shows the instructor each autograded notebook, and feedback),
# and leaves out JavaScript outputs and widgets. Its own filter escapes even headings and paragraphs; the pipeline's
# keeps what a notebook needs and drops what can run. Without the pipeline's package, nbconvert's filter stands.
c.HTMLExporter.sanitize_html = True
try:
    import importlib.util

    if importlib.util.find_spec("grader") is not None:
        c.HTMLExporter.filters = {"clean_html": "grader.classroom.preprocessors.clean_html"}
except (ImportError, ValueError):
    pass
