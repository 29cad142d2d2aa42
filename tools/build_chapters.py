"""Execute the book's chapters in place and store their outputs as text: the one source of each chapter.

Each chapter is one notebook, ``book/NN_*.ipynb``: its cells are the source, and its stored outputs are what
``pytest --nbval`` compares when it re-executes the chapter. Only the outputs that carry a proof are stored:
printed numbers and verdicts (``stream`` outputs and ``text/plain`` data). Figures (``image/png``) and
JavaScript animations (``text/html``) are dropped from the stored notebook: the book build draws them afresh,
and nbval never byte-compares them (a cell that displays an animation carries the ``nbval-ignore-output`` tag).

Usage::

    python tools/build_chapters.py                 # execute every chapter and store its text outputs
    python tools/build_chapters.py 01 03           # chapters whose file name starts with 01 or 03
    python tools/build_chapters.py --check         # check the stored notebooks without executing anything

Execution uses ``nbclient`` with ``record_timing=False`` in ``book/`` (the working directory the book build
and nbval use), keeps cell ids and drops per-cell execution metadata, so re-running an unchanged chapter
rewrites it byte for byte. To edit a chapter as text, ``jupytext --to md:myst book/NN_x.ipynb`` gives a
MyST Markdown view and ``jupytext --update --to ipynb NN_x.md -o book/NN_x.ipynb`` writes the edits back;
the Markdown view is a scratch file, never committed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import nbformat

# One BLAS thread per kernel, as the test suite's root conftest.py sets: the models are small, so threads cost
# more than they give, and stored outputs must not depend on the thread count.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
KEPT = ("text/plain",)  # the only data stored from display_data / execute_result outputs
IGNORE_TAG = "nbval-ignore-output"


def chapters() -> list[pathlib.Path]:
    """The executed notebooks of the book: the chapters ``NN_*.ipynb``, then the appendices ``appendix_*.ipynb``."""
    return sorted(BOOK.glob("[0-9][0-9]_*.ipynb")) + sorted(BOOK.glob("appendix_*.ipynb"))


def _is_animation(output: nbformat.NotebookNode) -> bool:
    html = output.get("data", {}).get("text/html", "")
    return "animation" in html.lower() or "<script" in html.lower()


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only text outputs; tag cells that displayed HTML so that nbval does not compare them."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "data" in output:
                if "text/html" in output["data"]:
                    tags = cell.metadata.setdefault("tags", [])
                    if IGNORE_TAG not in tags:
                        tags.append(IGNORE_TAG)
                output["data"] = {k: v for k, v in output["data"].items() if k in KEPT}
    return nb


def execute(path: pathlib.Path, timeout: int = 600) -> None:
    nb = nbformat.read(path, as_version=4)
    ids = [c.get("id") for c in nb.cells]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(BOOK)}}).execute()
    for cell, old_id in zip(nb.cells, ids):
        if old_id:
            cell["id"] = old_id
    nbformat.write(strip(nb), path)


def check() -> list[str]:
    """Problems with the stored chapters: unexecuted code cells, stored images or HTML, errors."""
    problems = []
    for path in chapters():
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            where = f"{path.relative_to(ROOT)} cell {i}"
            if cell.execution_count is None:
                problems.append(f"{where}: not executed (nbval would not compare it): run tools/build_chapters.py")
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    problems.append(f"{where}: stores an error")
                extra = set(output.get("data", {})) - set(KEPT)
                if extra:
                    problems.append(f"{where}: stores {sorted(extra)}: run tools/build_chapters.py to strip it")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="execute only chapters whose name starts with one of these")
    parser.add_argument("--check", action="store_true", help="check the stored notebooks only, execute nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or "every chapter is executed and stores text outputs only")
        return 1 if problems else 0
    for path in chapters():
        if args.prefixes and not any(path.name.startswith(p) for p in args.prefixes):
            continue
        print(f"executing {path.relative_to(ROOT)} ...", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
