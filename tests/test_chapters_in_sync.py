"""The executed chapters in book/ match their reviewed text forms in chapters/."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_chapters  # noqa: E402


def test_every_chapter_has_a_text_form_and_matches_it():
    assert build_chapters.text_forms(), "no chapter text forms found in chapters/"
    assert build_chapters.check() == []


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        assert f"book/{nb.stem}" in toc, f"{nb.name} is not listed in _toc.yml"
