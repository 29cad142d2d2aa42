"""The chapters: one notebook each, listed in the table of contents, stored executed with text outputs only.

Each chapter is a single source, ``book/NN_*.ipynb``. ``pytest --nbval`` re-executes it and compares its stored
printed numbers and verdicts (``stream`` and ``text/plain``); figures and animations are not stored, so nbval
never byte-compares images. ``tools/build_chapters.py`` executes a chapter and stores its outputs that way.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_chapters  # noqa: E402


def test_every_chapter_is_stored_executed_with_text_outputs_only():
    assert build_chapters.chapters(), "no chapters found in book/"
    assert build_chapters.check() == []


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for nb in build_chapters.chapters():
        assert f"book/{nb.stem}" in toc, f"{nb.name} is not listed in _toc.yml"


def test_there_is_one_source_per_chapter():
    """No second copy of a chapter (the former MyST text forms in chapters/) may come back."""
    assert not (ROOT / "chapters").exists()
    stems = [p.stem for p in build_chapters.chapters()]
    others = [p for p in ROOT.glob("book/*") if p.suffix in (".md", ".py") and p.stem in stems]
    assert others == []
