"""The book as a reader meets it: what every chapter page offers, checked from the sources.

The browser check (``tools/check_book.py``, run by ``.ci/browser``) looks at the built pages; these tests check
the sources the pages are built from, so a missing note or an unknown term fails before any build:

- every chapter opens with the "Run it yourself" note, whose setup command is README's, word for word;
- every chapter links the notation page and the glossary, and every ``{term}`` it uses is defined there;
- the notation page lists every code name of the package's naming table (``help(thermoref)``);
- figures are drawn at 100 dpi or more, and code lines are short enough not to scroll sideways;
- the publishing workflow and CI run the build command README gives, read from README itself.
"""

from __future__ import annotations

import pathlib
import re
import subprocess

import nbformat
import pytest

import thermoref

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
PAGES = CHAPTERS + sorted(BOOK.glob("appendix_*.ipynb"))
MAX_CODE_LINE = 100  # characters; the code column shows about 84 at 1280 px, and CSS wraps what is longer


def _readme_command(marker: str) -> str:
    out = subprocess.run(["bash", str(ROOT / ".ci" / "readme-command"), marker], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def _setup_command() -> str:
    """README's environment setup: its test command up to the test run itself."""
    test_cmd = _readme_command("# run every test")
    setup, sep, _ = test_cmd.partition(" && .venv/bin/python -m pytest")
    assert sep, f"README's test command has an unexpected form: {test_cmd}"
    return setup


def _cells(path: pathlib.Path, kind: str) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == kind]


def _glossary_terms() -> set[str]:
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    return {line.strip() for line in body.splitlines() if line and not line.startswith((" ", "\t"))}


TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")


def _term_targets(text: str) -> list[str]:
    """The glossary entries that the ``{term}`` roles of ``text`` point to (``text <target>`` or ``target``)."""
    targets = []
    for content in TERM_ROLE.findall(text):
        m = re.fullmatch(r"(?s).*<([^<>]+)>\s*", content)
        targets.append(" ".join((m.group(1) if m else content).split()))  # Sphinx joins a wrapped term
    return targets


def test_the_book_has_chapters() -> None:
    assert len(CHAPTERS) >= 12


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_run_it_yourself_note(path: pathlib.Path) -> None:
    cells = _cells(path, "markdown")
    assert cells[0].lstrip().startswith("# "), "a chapter's first cell is its title"
    note = cells[1]
    assert note.startswith(":::{admonition} Run it yourself"), "the second cell is the 'Run it yourself' note"
    assert _setup_command() in note, "the note's setup command must be README's, word for word"
    assert f"book/{path.name}" in note, "the note names the chapter's own notebook"
    assert f".venv/bin/python -m pytest book/{path.name}" in note


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_links_notation_and_glossary(path: pathlib.Path) -> None:
    text = "\n".join(_cells(path, "markdown"))
    assert "(notation.md)" in text and "(glossary.md)" in text
    assert _term_targets(text), "a chapter links the glossary terms it uses with {term}"


def test_every_term_role_names_a_glossary_entry() -> None:
    terms = {t.lower() for t in _glossary_terms()}
    assert len(terms) >= 40
    sources = [*(BOOK.glob("*.md")), *PAGES]
    unknown = []
    for path in sources:
        text = path.read_text(encoding="utf-8") if path.suffix == ".md" else "\n".join(_cells(path, "markdown"))
        unknown += [(path.name, t) for t in _term_targets(text) if t.lower() not in terms]
    assert not unknown, f"{{term}} roles with no glossary entry: {unknown}"


def test_term_role_parser_can_fail() -> None:
    assert _term_targets("a {term}`p-bits <p-bit>` and {term}`Gibbs law`") == ["p-bit", "Gibbs law"]
    assert "no such term" not in {t.lower() for t in _glossary_terms()}


def test_notation_page_lists_the_package_naming_table() -> None:
    doc = thermoref.__doc__
    table = doc.split("Naming table", 1)[1]
    rows = re.findall(r"^((?:``[^`]+``,?\s*)+)\s{2,}\S", table, flags=re.MULTILINE)
    names = {n.strip() for row in rows for n in re.findall(r"``([^`]+)``", row)}
    names = {part.strip() for n in names for part in n.split(",")}
    assert {"E", "kT", "beta", "logits", "Z", "rng", "n_samples"} <= names
    notation = (BOOK / "notation.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in notation)
    assert not missing, f"code names of help(thermoref)'s naming table missing from book/notation.md: {missing}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_figures_are_drawn_at_100_dpi_or_more(path: pathlib.Path) -> None:
    code = "\n".join(_cells(path, "code"))
    dpis = [float(v) for v in re.findall(r"""["']?(?:figure\.)?dpi["']?\s*[:=]\s*([0-9.]+)""", code)]
    if "plt." in code or "matplotlib" in code:
        assert re.search(r"""["']figure\.dpi["']\s*:\s*1[0-9][0-9]""", code), "set figure.dpi (>= 100) once"
    low = [d for d in dpis if d < 100]
    assert not low, f"figures drawn below 100 dpi: {low}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_code_lines_do_not_scroll_sideways(path: pathlib.Path) -> None:
    long = [line for src in _cells(path, "code") for line in src.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"{len(long)} code lines longer than {MAX_CODE_LINE} characters, e.g. {long[0]!r}"


def test_ci_and_publishing_run_readmes_commands() -> None:
    assert _readme_command("# build the book").endswith("jupyter-book build . --all -W -n --keep-going")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'bash .ci/readme-command "# build the book"' in ci and "bash .ci/browser" in ci
    workflow = (ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8")
    assert "bash .ci/readme-command '# build the book'" in workflow
    assert "bash .ci/browser" in workflow and "actions/deploy-pages" in workflow
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".github/workflows/book.yml" in readme, "README documents the publishing workflow"
