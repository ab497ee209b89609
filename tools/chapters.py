"""Re-execute the book's notebooks in place and keep them clean, so that a diff of a chapter reads like prose.

    python tools/chapters.py book/02_trust_policy.ipynb ...      (or: make chapters)

Each notebook is executed top to bottom in a fresh kernel from its own folder, then normalised: stable cell ids,
no execution timings, no widget state, no interpreter version in the metadata. The saved outputs are what nbval
later proves still come out of the code.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

_VALID_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


def _merge_streams(outputs: list) -> list:
    """Join consecutive pieces of the same stream: the kernel splits long prints at arbitrary points."""
    merged: list = []
    for output in outputs:
        if (output.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")):
            merged[-1]["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    seen: set[str] = set()
    for cell in nb.cells:
        cell_id = cell.get("id")
        if not cell_id or not _VALID_ID.match(cell_id) or cell_id in seen:
            # A new id depends only on the cell's text, so re-running this never renames a cell.
            digest = hashlib.sha1(cell.source.encode("utf-8")).hexdigest()
            cell_id = digest[:8]
            n = 1
            while cell_id in seen:
                cell_id = f"{digest[:8]}-{n}"
                n += 1
        cell["id"] = cell_id
        seen.add(cell_id)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type == "code":
            cell["outputs"] = _merge_streams(cell.get("outputs", []))
            for output in cell["outputs"]:
                output.get("metadata", {}).pop("execution", None)
                data = output.get("data", {})
                # Widget views point at live kernel state: keep their plain-text stand-in only.
                data.pop("application/vnd.jupyter.widget-view+json", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def execute(path: Path, timeout: int = 300) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    nbformat.validate(normalise(nb))
    nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(Path("book").glob("*.ipynb"))
    for path in paths:
        if not path.exists():
            print(f"tools/chapters.py: no notebook at {path}", file=sys.stderr)
            return 2
        print(f"executing {path}", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
