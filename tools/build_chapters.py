"""Build the book's notebooks from their text forms, execute them, and store the outputs.

The chapters are written as MyST Markdown notebooks in ``chapters/`` (readable diffs, easy review) and
stored executed in ``book/`` (what the book builds and what ``pytest --nbval`` re-runs and compares).
``tests/test_chapters_in_sync.py`` fails if the two disagree.

Usage::

    python tools/build_chapters.py                 # every chapter
    python tools/build_chapters.py 01 03           # chapters whose file name starts with 01 or 03
    python tools/build_chapters.py --check         # only check that book/ matches chapters/ (no execution)

Execution uses ``nbclient`` with ``record_timing=False`` in ``book/`` (the working directory the book build
and nbval use) and drops per-cell execution metadata, so an unchanged chapter re-executes byte-identically.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = ROOT / "chapters"
BOOK = ROOT / "book"


def text_forms() -> list[pathlib.Path]:
    return sorted(SOURCES.glob("*.md"))


def cell_signature(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The part of a notebook that the text form owns: cell types and sources."""
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def build(src: pathlib.Path, timeout: int = 600) -> pathlib.Path:
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.pop("jupytext", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(BOOK)}})
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    out = BOOK / (src.stem + ".ipynb")
    if out.exists():  # keep the cell ids of the stored notebook, so that a rebuild's diff shows only real changes
        old = nbformat.read(out, as_version=4).cells
        for new_cell, old_cell in zip(nb.cells, old):
            if new_cell.cell_type == old_cell.cell_type and "id" in old_cell:
                new_cell["id"] = old_cell["id"]
    nbformat.write(nb, out)
    return out


def check() -> list[str]:
    problems = []
    for src in text_forms():
        target = BOOK / (src.stem + ".ipynb")
        if not target.exists():
            problems.append(f"{target.relative_to(ROOT)} is missing (build it from {src.relative_to(ROOT)})")
            continue
        if cell_signature(jupytext.read(src)) != cell_signature(nbformat.read(target, as_version=4)):
            problems.append(f"{target.relative_to(ROOT)} differs from {src.relative_to(ROOT)}: rebuild it")
    for nb in sorted(BOOK.glob("*.ipynb")):
        if not (SOURCES / (nb.stem + ".md")).exists():
            problems.append(f"{nb.relative_to(ROOT)} has no text form in chapters/")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="build only chapters whose name starts with one of these")
    parser.add_argument("--check", action="store_true", help="check sync only, execute nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or "book/ is in sync with chapters/")
        return 1 if problems else 0
    for src in text_forms():
        if args.prefixes and not any(src.name.startswith(p) for p in args.prefixes):
            continue
        print(f"executing {src.relative_to(ROOT)} ...", flush=True)
        print(f"  wrote {build(src).relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
