"""The bibliography (``book/references.bib``) and the citations that point into it.

The book's references page lists every entry of the ``.bib`` file; the chapters cite entries with
``{cite}`key``` roles (``{cite:p}``, ``{cite:t}``, ...). These tests read the sources, so a broken citation fails
here before the strict book build:

- every entry has a DOI or an arXiv identifier, or is on ``NO_IDENTIFIER`` with the reason it has neither, and then
  carries a ``note`` (and a ``url`` or ``isbn`` where one exists);
- identifiers are well formed (``10.NNNN/...``; ``NNNN.NNNNN`` or ``archive/NNNNNNN``) and no key, DOI or arXiv
  identifier appears twice; keys follow the book's convention (first author's surname, year, a/b on a clash);
- every key cited in ``book/*.ipynb`` and ``book/*.md`` exists, and every chapter cites at least one work;
- every arXiv identifier named in a docstring or in a chapter's prose is in the ``.bib``;
- the references page lists all entries (``:all:``), so works named only by docstrings appear too.
"""

from __future__ import annotations

import collections
import pathlib
import re

import nbformat
import pytest
from pybtex.database import parse_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIB = BOOK / "references.bib"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))

#: Entries with neither a DOI nor an arXiv identifier, each with the reason.
NO_IDENTIFIER = {
    "gibbs1902": "book of 1902",
    "schottky1922": "journal article of 1922, journal without DOIs",
    "reif1965": "printed textbook",
    "huang1987": "printed textbook",
    "tari2003": "book; no DOI could be verified",
    "liu1995": "article; no DOI could be verified",
    "geyer1991": "symposium proceedings without DOIs",
    "kemeny1960": "book of 1960",
    "levin2009": "book; no DOI could be verified",
    "feller1968": "printed textbook",
    "gardiner2009": "book; no DOI could be verified",
    "yin2010": "book; no DOI could be verified",
    "box2008": "fourth edition; only the fifth edition's DOI could be verified",
    "golub2013": "printed textbook",
    "abramowitz1964": "government publication",
    "gumbel1954": "government lecture series",
    "amemiya1981": "journal without DOIs in 1981",
    "johnson1997": "book; no DOI could be verified",
    "morin2005": "workshop proceedings without DOIs",
    "goodfellow2016": "printed textbook",
    "mackay2003": "book; no DOI could be verified",
    "bonferroni1936": "institute publication of 1936",
    "fisher1921": "journal without DOIs in 1921",
    "luce1959": "book of 1959",
    "gretton2012": "JMLR issues no DOIs",
    "rahimi2007": "NeurIPS 2007 paper without DOI or arXiv version",
    "radford2019": "technical report",
    "golomb1967": "book of 1967",
    "oneill2014": "technical report",
    "oneill2015": "blog post",
    "extropic2025": "software",
    "extropic2025a": "company web page",
    "extropic2025b": "company web page",
    "karpathy2020": "software",
    "gerganov2023": "format specification in a software repository",
    "huggingface2022": "software",
    "eby2013": "language proposal",
    "kern2007": "format proposal",
    "numpy2019": "software documentation",
    "sentencetransformers2021": "model card",
    "huggingfacetb2024": "model card",
}

DOI = re.compile(r"10\.\d{4,9}/\S+")
ARXIV = re.compile(r"\d{4}\.\d{4,5}(v\d+)?|[a-z-]+(\.[A-Z]{2})?/\d{7}(v\d+)?")
KEY = re.compile(r"[a-z]+\d{4}[a-z]?")
#: A citation role: {cite}`a`, {cite:p}`a, b`, {cite:t}`{pre}a{post}` and the other variants of sphinxcontrib-bibtex.
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
#: An arXiv identifier as prose and docstrings write it.
ARXIV_MENTION = re.compile(r"arXiv:\s?(\d{4}\.\d{4,5})")


def _entries():
    return parse_file(str(BIB)).entries


def _identifier_problems(entries) -> list[str]:
    problems = []
    for key, entry in entries.items():
        doi, eprint = entry.fields.get("doi"), entry.fields.get("eprint")
        if doi is not None and not DOI.fullmatch(doi):
            problems.append(f"{key}: malformed doi {doi!r}")
        if eprint is not None:
            if not ARXIV.fullmatch(eprint):
                problems.append(f"{key}: malformed arXiv eprint {eprint!r}")
            if entry.fields.get("archiveprefix", "").lower() != "arxiv":
                problems.append(f"{key}: eprint without archiveprefix = {{arXiv}}")
        if doi is None and eprint is None:
            if key not in NO_IDENTIFIER:
                problems.append(f"{key}: neither doi nor eprint, and not on NO_IDENTIFIER")
            if not entry.fields.get("note"):
                problems.append(f"{key}: no identifier, so it needs a note saying why")
        elif key in NO_IDENTIFIER:
            problems.append(f"{key}: on NO_IDENTIFIER but has an identifier; take it off the list")
    problems += [f"{key}: on NO_IDENTIFIER but not in the .bib" for key in NO_IDENTIFIER if key not in entries]
    return problems


def _cited_keys(paths) -> dict[str, set[str]]:
    """Keys cited by each file (markdown cells of notebooks, whole text of ``.md`` pages)."""
    cited = {}
    for path in paths:
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        else:
            text = path.read_text(encoding="utf-8")
        keys = set()
        for body in CITE.findall(text):
            body = re.sub(r"\{[^{}]*\}", "", body)  # pre- and post-text: {cite:p}`{see }key{, p. 3}`
            keys |= {k.strip() for k in body.split(",") if k.strip()}
        cited[path.name] = keys
    return cited


def test_bib_parses_and_has_the_seed_entries():
    entries = _entries()
    assert len(entries) >= 150
    for key in ("onsager1944", "kaufman1949", "ferdinand1969", "swendsen1987", "wolff1989", "sokal1997",
                "vehtari2021", "camsari2017", "vanloan1978", "kramers1940", "gumbel1954", "vose1991",
                "gibbs1902", "boltzmann1877", "vaswani2017", "jelincic2025", "aifer2024", "conte2019"):
        assert key in entries, key


def test_every_entry_has_a_well_formed_identifier_or_a_reason():
    assert _identifier_problems(_entries()) == []


def test_identifier_check_catches_a_missing_identifier():
    entries = _entries()
    entry = entries["onsager1944"]
    del entry.fields["doi"]
    assert _identifier_problems({"onsager1944": entry}) != []


def test_no_duplicate_keys_dois_or_eprints():
    raw = re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), flags=re.M)
    repeated = [k for k, n in collections.Counter(k.lower() for k in raw).items() if n > 1]
    assert repeated == []
    entries = _entries()
    assert len(raw) == len(entries)
    for field in ("doi", "eprint"):
        values = [e.fields[field].lower() for e in entries.values() if field in e.fields]
        assert [v for v, n in collections.Counter(values).items() if n > 1] == [], field


def test_keys_follow_the_convention():
    assert [k for k in _entries() if not KEY.fullmatch(k)] == []


def test_every_cited_key_exists():
    entries = _entries()
    pages = sorted(BOOK.glob("*.ipynb")) + sorted(BOOK.glob("*.md")) + sorted((BOOK / "api").glob("*.md"))
    missing = {name: sorted(k for k in keys if k not in entries) for name, keys in _cited_keys(pages).items()}
    assert {name: keys for name, keys in missing.items() if keys} == {}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_cites(chapter):
    assert _cited_keys([chapter])[chapter.name], f"{chapter.name} cites no entry of references.bib"


def test_every_arxiv_id_named_in_docstrings_and_chapters_is_in_the_bib():
    eprints = {e.fields["eprint"] for e in _entries().values() if "eprint" in e.fields}
    named = collections.defaultdict(set)
    for path in sorted((ROOT / "thermoref").rglob("*.py")):
        for arxiv_id in ARXIV_MENTION.findall(path.read_text(encoding="utf-8")):
            named[arxiv_id].add(str(path.relative_to(ROOT)))
    for path in CHAPTERS:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        for arxiv_id in ARXIV_MENTION.findall(text):
            named[arxiv_id].add(path.name)
    assert {i: sorted(where) for i, where in named.items() if i not in eprints} == {}


def test_references_page_lists_every_entry():
    text = (BOOK / "bibliography.md").read_text(encoding="utf-8")
    assert re.search(r"```\{bibliography\}[^\n]*\n(:[a-z]+:[^\n]*\n)*:all:", text), "the page must use :all:"
