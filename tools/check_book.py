#!/usr/bin/env python3
"""Open every page of the built book in headless Chromium and check what a reader meets.

Usage::

    python tools/check_book.py _build/html --screenshots _build/browser-screenshots

The built HTML is served over http from a local server on 127.0.0.1 (search needs http, not file://) and
every page is opened in Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) driven by Playwright;
Playwright's own browser download is never used. Any request to another host fails the check: the book
must work offline. Per page the checks are

* ``load``: the page loads (HTTP 200);
* ``console``: no console message of type error and no uncaught page error;
* ``requests``: no failed request and no response with status >= 400;
* ``offline``: no request to a host other than 127.0.0.1 (each is blocked, and reported);
* ``mathjax``: MathJax (the local copy) has finished (``MathJax.startup.promise``), every ``.math``
  element holds an ``mjx-container``, no ``mjx-merror`` node, and no raw ``$...$``, ``\\(`` or ``\\[`` in
  the text outside ``pre``/``code``;
* ``images``: every ``img`` has loaded (``naturalWidth > 0``) and no figure PNG is upscaled (natural width
  >= displayed width);
* ``animations``: each matplotlib ``to_jshtml`` widget advances frames after a click on Play;
* ``code``: no ``pre`` block and no table of the article scrolls sideways (``scrollWidth > clientWidth + 1``);
* ``navigation``: previous/next links follow the order of the left sidebar (none before the first page,
  none after the last), every sidebar link and every link to a page of the book points to an existing file;
* ``download``: a page built from a notebook links its ``.ipynb`` (the download button) and the file
  exists; a chapter page shows the "Run it yourself" note;
* ``search`` (search.html only, opened as ``search.html?q=partition``): at least one result appears;
* ``screenshot``: a screenshot of the page is written.

Pages are every ``*.html`` outside ``_static``, ``_sources`` and ``_images``; each chapter or API page
must be reachable from the sidebar. ``index.html`` (a redirect) must lead to the first page. Also, from
Python: every PNG in ``_images/`` carries a pHYs chunk of at least 100 dpi (3937 pixels per metre).

A full-page screenshot of every page, 1280 px wide and cut at ``--max-height`` px, is written to the
screenshot folder as ``<path with / replaced by __>.png``. Two browsers share the pages (``--jobs``).
Lines starting with ``info:`` (and, with ``-v``, the notes under each page: formulas typeset, figure widths,
animation frames, code lines that the book's CSS wraps, time per step) are measurements, never failures.
The exit status is 1 if any check fails.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import html.parser
import http.server
import os
import posixpath
import queue
import re
import struct
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

SKIP_DIRS = {"_static", "_sources", "_images"}
# Pages that are not in the sidebar by design (Sphinx's generated pages and the redirect).
SPECIAL_PAGES = {"index.html", "search.html", "genindex.html", "py-modindex.html"}
MIN_PPM = 3937  # 100 dpi in pixels per metre (100 / 0.0254 = 3937.0)
SEARCH_WORD = "partition"
WIDTH = 1280  # px, the viewport width (and screenshot width)
MAX_LISTED = 8  # problems of one kind listed per page
KINDS = ("load", "console", "requests", "offline", "mathjax", "images", "animations", "code",
         "navigation", "download", "search", "reachable", "screenshot", "png-dpi")
# Pages built from a notebook: they offer it for download and open with the "Run it yourself" note.
NOTEBOOK_PAGE = re.compile(r"book/(\d\d_|appendix_)[^/]+\.html")

# ---------------------------------------------------------------------------------------------------------
# JavaScript run in the page


JS_MATHJAX_STATE = """() => ({
  hasMathJax: !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise),
  nMath: document.querySelectorAll('.math').length,
  scripts: [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s)),
})"""

JS_MATHJAX_WAIT = """() => window.MathJax.startup.promise.then(() => true)"""

JS_MATHJAX_CHECK = r"""() => {
  const maths = [...document.querySelectorAll('.math')];
  const untypeset = maths.filter(m => !m.querySelector('mjx-container'))
                         .map(m => m.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                   .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80));
  // Raw TeX left in the text a reader sees: the body without code, scripts and typeset math.
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea, noscript, mjx-container, kbd, samp, '
                         + '.math, .highlight').forEach(e => e.remove());
  clone.querySelectorAll('p, li, div, td, th, dt, dd, h1, h2, h3, h4, h5, h6, figcaption, caption, '
                         + 'blockquote').forEach(e => e.append('\n'));  // a formula never spans blocks
  const text = clone.textContent;
  const raw = [];
  const re = /\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\$|\$[^$\n]{1,200}?\$/g;
  let m;
  while ((m = re.exec(text)) !== null && raw.length < 5) {
    raw.push(text.slice(Math.max(0, m.index - 30), m.index + m[0].length + 30).replace(/\s+/g, ' '));
  }
  return {nMath: maths.length, untypeset, errors, raw};
}"""

JS_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {  // complete: loaded or broken
    i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 15000);
  })));
  return imgs.map(i => {
    const rect = i.getBoundingClientRect();
    // the width a figure can take: the content box of its cell output (or of the article)
    const col = i.closest('.cell_output, figure, article') || document.body, cs = getComputedStyle(col);
    const colw = col.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    return {src: (i.currentSrc || i.src || '').slice(0, 200), complete: i.complete,
            nw: i.naturalWidth, nh: i.naturalHeight, dw: rect.width, colw, anim: !!i.closest('.animation')};
  });
}"""

JS_ANIMATIONS = """() => [...document.querySelectorAll('.animation')].map((a, k) => {
  const img = a.querySelector('img'), slider = a.querySelector('input.anim-slider, input[type=range]');
  return {k, hasImg: !!img, hasSlider: !!slider,
          hasPlay: !!a.querySelector('button[title="Play"], button[aria-label="Play"]'),
          frames: slider ? Number(slider.max) + 1 : 0};
})"""

JS_ANIM_STATE = """(k) => {
  const a = document.querySelectorAll('.animation')[k];
  const img = a.querySelector('img'), slider = a.querySelector('input.anim-slider, input[type=range]');
  const src = img ? (img.src || '') : '';
  return {value: slider ? slider.value : null, srcLen: src.length, srcTail: src.slice(-64)};
}"""

JS_ANIM_CHANGED = """([k, v0, len0, tail0]) => {
  const a = document.querySelectorAll('.animation')[k];
  const img = a.querySelector('img'), slider = a.querySelector('input.anim-slider, input[type=range]');
  const src = img ? (img.src || '') : '';
  return (slider && slider.value !== v0) || src.length !== len0 || src.slice(-64) !== tail0;
}"""

JS_CODE = """() => {
  const root = document.querySelector('article') || document.querySelector('main') || document.body;
  return [...root.querySelectorAll('pre')].filter(p => p.clientWidth > 0)
    .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => {
      const lines = p.textContent.split('\\n');
      const longest = lines.reduce((a, b) => b.length > a.length ? b : a, '');
      const where = p.closest('.cell_output') ? 'output' : p.closest('.cell_input') ? 'cell' : 'block';
      return {where, scroll: p.scrollWidth, client: p.clientWidth, chars: longest.length,
              line: longest.trim().slice(0, 70)};
    });
}"""

JS_TABLES = """() => {
  // Tables wider than the column: the theme puts each in a container that scrolls sideways.
  const root = document.querySelector('article') || document.body;
  return [...root.querySelectorAll('table')].map(t => t.parentElement).filter(c => c && c.clientWidth > 0)
    .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => {
      const head = c.querySelector('th, td');
      return {scroll: c.scrollWidth, client: c.clientWidth, first: head ? head.textContent.trim().slice(0, 40) : ''};
    });
}"""

JS_WRAPS = """() => {
  // Lines of code cells and outputs longer than the column, which the book's CSS wraps (a note, not a failure).
  const root = document.querySelector('article') || document.body;
  const pres = [...root.querySelectorAll('div.cell_input pre, div.cell_output pre')].filter(p => p.clientWidth > 0);
  if (!pres.length) return null;
  const probe = document.createElement('span');
  probe.textContent = 'x'.repeat(100);
  probe.style.whiteSpace = 'pre';
  pres[0].appendChild(probe);
  const charW = probe.getBoundingClientRect().width / 100;
  probe.remove();
  const cs = getComputedStyle(pres[0]);
  const fits = Math.floor((pres[0].clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)) / charW);
  let cell = 0, output = 0, longest = 0;
  for (const p of pres) {
    for (const line of p.textContent.split('\\n')) {
      if (line.length > fits) { if (p.closest('.cell_output')) output++; else cell++; }
      longest = Math.max(longest, line.length);
    }
  }
  return {fits, cell, output, longest};
}"""

JS_LINKS = """() => {
  const abs = a => a.href;
  const sidebar = [...document.querySelectorAll('nav.bd-docs-nav a[href]')].map(abs);
  const prev = document.querySelector('.prev-next-area a.left-prev');
  const next = document.querySelector('.prev-next-area a.right-next');
  const all = [...document.querySelectorAll('a[href]')].map(abs);
  const runNote = [...document.querySelectorAll('.admonition-title')]
    .some(t => t.textContent.trim() === 'Run it yourself');
  return {sidebar, prev: prev ? prev.href : null, next: next ? next.href : null, all, runNote};
}"""

JS_SEARCH = """() => document.querySelectorAll('#search-results ul.search li').length"""
# Sphinx's search has finished: results listed, or its "did not match" / "found" message is shown.
JS_SEARCH_DONE = """() => document.querySelectorAll('#search-results ul.search li').length > 0
  || /did not match|found/i.test((document.querySelector('#search-results p, #search-progress') || {}).textContent
                                 || '')"""

JS_HEIGHT = """() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"""


# ---------------------------------------------------------------------------------------------------------
# Serving the built book


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (name from the base class)
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start http.server on 127.0.0.1 at a free port in a daemon thread; return it and its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# ---------------------------------------------------------------------------------------------------------
# PNG resolution, read from the file


def png_ppm(path: Path) -> tuple[int, int, int] | None:
    """(x pixels per unit, y pixels per unit, unit) of the pHYs chunk, or None if there is none."""
    with path.open("rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"pHYs":
                return struct.unpack(">IIB", f.read(9))
            if kind in (b"IDAT", b"IEND"):
                return None  # pHYs must come before the image data
            f.seek(length + 4, os.SEEK_CUR)


def check_png_dpi(html_dir: Path) -> tuple[int, list[str]]:
    pngs = sorted((html_dir / "_images").glob("*.png"))
    bad = []
    for p in pngs:
        phys = png_ppm(p)
        if phys is None:
            bad.append(f"{p.name}: no pHYs chunk")
        elif phys[2] != 1 or min(phys[0], phys[1]) < MIN_PPM:
            dpi = min(phys[0], phys[1]) * 0.0254 if phys[2] == 1 else float("nan")
            bad.append(f"{p.name}: {dpi:.0f} dpi (pHYs {phys[0]}x{phys[1]} per {'metre' if phys[2] else '?'})")
    return len(pngs), bad


# ---------------------------------------------------------------------------------------------------------
# The browser checks


class PageResult:
    """What the checks found on one page: problems by kind, the kinds checked, and notes."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.problems: dict[str, list[str]] = collections.defaultdict(list)
        self.kinds: list[str] = []
        self.notes: list[str] = []
        self.figures: list[tuple[str, int, float, float]] = []  # (file name, natural, shown, column) widths
        self.seconds = 0.0
        self.wrapped = (0, 0, 0)  # code cell lines and output lines wrapped by the CSS, characters that fit

    def check(self, kind: str, problems: list[str]) -> None:
        self.kinds.append(kind)
        self.problems[kind] += problems


def list_pages(html_dir: Path) -> list[str]:
    pages = []
    for p in sorted(html_dir.rglob("*.html")):
        rel = p.relative_to(html_dir).as_posix()
        if rel.split("/", 1)[0] not in SKIP_DIRS:
            pages.append(rel)
    return pages


class _Links(html.parser.HTMLParser):
    """The href of every link inside <nav class="... bd-docs-nav ..."> (the left sidebar)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # > 0 inside the sidebar nav
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and ("bd-docs-nav" in (attrs.get("class") or "").split() or self.depth):
            self.depth += 1
        elif tag == "a" and self.depth and attrs.get("href"):
            self.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1


def root_and_toc_order(html_dir: Path) -> tuple[str, list[str]]:
    """The page index.html redirects to, and the pages in the order of its left sidebar (the toc order)."""
    text = (html_dir / "index.html").read_text(encoding="utf8", errors="replace")
    m = re.search(r'http-equiv="Refresh"[^>]*url=([^"\s]+)"', text, flags=re.I)
    root = posixpath.normpath(m.group(1)) if m else "index.html"
    parser = _Links()
    parser.feed((html_dir / root).read_text(encoding="utf8", errors="replace"))
    order = []
    for href in parser.hrefs:
        href = href.split("#", 1)[0]
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(root), href)) if href else root
        if rel not in order:
            order.append(rel)
    if root not in order:  # the theme lists the root page first (home_page_in_toc); if not, it still is
        order.insert(0, root)
    return root, order


def url_to_rel(url: str, base: str) -> str | None:
    """The file (path relative to the html folder) a URL of the local server points to; None if off-site."""
    if not url.startswith(base):
        return None
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return posixpath.normpath(path)


def shorten(text, n: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def screenshot_name(rel: str) -> str:
    return rel[: -len(".html")].replace("/", "__") + ".png"


class Checker:
    """One headless Chromium (one per worker thread: Playwright's sync API is bound to its thread)."""

    def __init__(self, pw, args, base: str, html_dir: Path, order: list[str]) -> None:
        self.base, self.html_dir, self.order, self.args = base, html_dir, order, args
        self.browser = pw.chromium.launch(executable_path=args.chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        self.version = self.browser.version
        self.context = self.browser.new_context(viewport={"width": WIDTH, "height": 900},
                                                device_scale_factor=1, service_workers="block")
        self.offline: list[str] = []  # requests to other hosts while the current page is open
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        if urllib.parse.urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # the book must work offline: block, and report it
            self.offline.append(route.request.url)
            route.abort("blockedbyclient")

    def close(self) -> None:
        self.context.close()
        self.browser.close()

    def run(self, rel: str) -> PageResult:
        res, t_page = PageResult(rel), time.monotonic()
        console, pageerrors, failed, bad_status = [], [], [], []
        self.offline = []
        base = self.base
        page = self.context.new_page()

        def on_console(m):
            # Chromium also logs our own blocking of other hosts; those are reported under "offline".
            if m.type == "error" and "ERR_BLOCKED_BY_CLIENT" not in m.text:
                where = m.location.get("url", "").rsplit("/", 1)[-1]
                console.append(f"{m.text} ({where}:{m.location.get('lineNumber', '?')})")

        page.on("console", on_console)
        page.on("pageerror", lambda e: pageerrors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})") if r.url.startswith(base)
                else None)
        page.on("response", lambda r: bad_status.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        steps, t = [], time.monotonic()

        def step(name):
            nonlocal t
            steps.append(f"{name} {time.monotonic() - t:.1f}")
            t = time.monotonic()

        try:
            url = base + rel + (f"?q={SEARCH_WORD}" if rel == "search.html" else "")
            resp = page.goto(url, wait_until="load", timeout=90_000)
            res.check("load", [] if resp is not None and resp.ok else [f"status {resp and resp.status}"])
            step("load")
            if rel == "index.html":  # a meta-refresh redirect to the first page
                problems = []
                try:
                    page.wait_for_url(re.compile(re.escape(base + self.order[0]) + r"$"), timeout=15_000)
                    page.wait_for_load_state("load")
                except PlaywrightError:
                    problems.append(f"does not redirect to {self.order[0]} (now at {page.url})")
                res.check("navigation", problems)
            else:
                check_mathjax(page, base, res)
                step("mathjax")
                check_images(page, res)
                step("images")
                check_animations(page, res)
                step("animations")
                check_code(page, res)
                check_navigation(page, base, self.html_dir, self.order, res)
                step("code+nav")
                if rel == "search.html":
                    check_search(page, res)
                    step("search")
            try:  # resize the viewport to the page (cut at --max-height): faster than full_page=True
                height = min(page.evaluate(JS_HEIGHT), self.args.max_height)
                page.set_viewport_size({"width": WIDTH, "height": height})
                page.screenshot(path=str(self.args.screenshots / screenshot_name(rel)), timeout=90_000,
                                animations="disabled")
                res.check("screenshot", [])
            except PlaywrightError as e:
                res.check("screenshot", [shorten(e, 200)])
            step("screenshot")
        except PlaywrightError as e:
            res.check("load", [shorten(e, 300)])
        finally:  # what the page did until now (closing it may cancel requests: not the page's fault)
            seen = (list(console), list(pageerrors), list(failed), list(bad_status), list(self.offline))
            page.close()
        console, pageerrors, failed, bad_status, offline = seen
        res.check("console", [shorten(c) for c in console] + [f"uncaught: {shorten(e)}" for e in pageerrors])
        res.check("requests", [shorten(f) for f in failed] + [shorten(s) for s in bad_status])
        res.check("offline", [f"request to another host (blocked): {shorten(o)}" for o in offline])
        if self.args.verbose:
            res.notes.append(f"time: {', '.join(steps)}")
        res.seconds = time.monotonic() - t_page
        return res


def check_mathjax(page, base: str, res: PageResult) -> None:
    state = page.evaluate(JS_MATHJAX_STATE)
    problems = []
    if state["nMath"] and not state["hasMathJax"]:
        problems.append(f"{state['nMath']} math elements but MathJax is not loaded")
    problems += [f"MathJax not loaded from the book's own copy: {src}" for src in state["scripts"]
                 if not src.startswith(base)]
    if state["hasMathJax"]:
        try:
            page.wait_for_function(JS_MATHJAX_WAIT, timeout=60_000)
        except PlaywrightError as e:
            problems.append(f"MathJax.startup.promise did not resolve: {shorten(e)}")
        found = page.evaluate(JS_MATHJAX_CHECK)
        if found["untypeset"]:
            problems.append(f"{len(found['untypeset'])} of {found['nMath']} .math elements not typeset, "
                            f"first: {found['untypeset'][0]!r}")
        problems += [f"MathJax error: {e!r}" for e in found["errors"][:5]]
        problems += [f"raw TeX in the text: ...{r}..." for r in found["raw"]]
        if found["nMath"]:
            res.notes.append(f"mathjax: {found['nMath']} formulas typeset")
    res.check("mathjax", problems)


def check_images(page, res: PageResult) -> None:
    imgs = page.evaluate(JS_IMAGES)
    problems = []
    for im in imgs:
        src = im["src"][:30] + "..." if im["src"].startswith("data:") else im["src"].rsplit("/", 1)[-1]
        if not im["complete"] or im["nw"] == 0:
            problems.append(f"image not loaded: {src or '(no src)'}")
        elif "/_images/" in im["src"] and im["src"].endswith(".png") and im["nw"] + 0.5 < im["dw"]:
            problems.append(f"figure upscaled: {src} is {im['nw']} px wide, shown at {im['dw']:.0f} px")
        if "/_images/" in im["src"] and im["nw"] > 0:
            res.figures.append((im["src"].rsplit("/", 1)[-1], im["nw"], im["dw"], im["colw"]))
    if res.figures:
        nat = [f[1] for f in res.figures]
        res.notes.append(f"figures: {len(nat)}, {min(nat)} to {max(nat)} px wide, room for "
                         f"{max(f[3] for f in res.figures):.0f} px")
    frames = [im["nw"] for im in imgs if im["anim"]]
    if frames:
        res.notes.append(f"animation frames: {', '.join(map(str, frames))} px wide")
    res.check("images", problems)


def check_animations(page, res: PageResult) -> None:
    anims = page.evaluate(JS_ANIMATIONS)
    if not anims:
        return
    problems = []
    for a in anims:
        k = a["k"]
        if not (a["hasImg"] and a["hasPlay"]):
            problems.append(f"animation {k}: no frame image or no Play button")
            continue
        widget = page.locator(".animation").nth(k)
        s0 = page.evaluate(JS_ANIM_STATE, k)
        try:
            widget.locator('button[title="Play"]').click(timeout=10_000)
            page.wait_for_function(JS_ANIM_CHANGED, arg=[k, s0["value"], s0["srcLen"], s0["srcTail"]],
                                   timeout=10_000)
            s1 = page.evaluate(JS_ANIM_STATE, k)
            res.notes.append(f"animation {k}: {a['frames']} frames, Play moved it from frame {s0['value']} "
                             f"to {s1['value']}")
        except PlaywrightError as e:
            problems.append(f"animation {k} ({a['frames']} frames): no new frame 10 s after Play "
                            f"({shorten(e, 100)})")
        finally:
            with contextlib.suppress(PlaywrightError):
                widget.locator('button[title="Pause"]').click(timeout=5_000)
    res.check("animations", problems)


def check_code(page, res: PageResult) -> None:
    wide = page.evaluate(JS_CODE)
    problems = [f"{w['where']} pre scrolls sideways ({w['scroll']} > {w['client']} px), longest line "
                f"{w['chars']} chars: {w['line']!r}" for w in wide[:MAX_LISTED]]
    if len(wide) > MAX_LISTED:
        problems.append(f"... and {len(wide) - MAX_LISTED} more pre blocks that scroll sideways")
    tables = page.evaluate(JS_TABLES)
    problems += [f"table scrolls sideways ({t['scroll']} > {t['client']} px), first cell {t['first']!r}"
                 for t in tables[:MAX_LISTED]]
    wraps = page.evaluate(JS_WRAPS)
    if wraps and (wraps["cell"] or wraps["output"]):
        res.notes.append(f"code: {wraps['cell']} cell lines and {wraps['output']} output lines longer than the "
                         f"{wraps['fits']} characters that fit are wrapped (longest {wraps['longest']})")
        res.wrapped = (wraps["cell"], wraps["output"], wraps["fits"])
    res.check("code", problems)


def check_navigation(page, base: str, html_dir: Path, order: list[str], res: PageResult) -> None:
    links = page.evaluate(JS_LINKS)
    problems = []

    def target(href):
        return url_to_rel(href.split("#", 1)[0].split("?", 1)[0], base)

    def exists(rel):
        return rel is not None and (html_dir / rel).is_file()

    sidebar = [target(h) for h in links["sidebar"]]
    if not sidebar:
        problems.append("no links in the left sidebar")
    problems += [f"sidebar link to a missing file: {h}" for h, t in zip(links["sidebar"], sidebar) if not exists(t)]
    if res.rel in order:  # the previous/next links follow the toc, none before the first or after the last
        i = order.index(res.rel)
        want = {"previous": order[i - 1] if i > 0 else None, "next": order[i + 1] if i + 1 < len(order) else None}
        for name, href in (("previous", links["prev"]), ("next", links["next"])):
            got = target(href) if href else None
            if got != want[name]:
                problems.append(f"{name} link goes to {got}, expected {want[name]}")
    for h in links["prev"], links["next"]:
        if h and not exists(target(h)):
            problems.append(f"previous/next link to a missing file: {h}")
    missing = sorted({t for t in map(target, links["all"]) if t is not None and not exists(t)})
    problems += [f"link to a missing file: {t}" for t in missing[:MAX_LISTED]]
    res.check("navigation", problems)
    if NOTEBOOK_PAGE.fullmatch(res.rel):  # the page's own notebook, offered by the download button
        source = "_sources/" + res.rel[: -len(".html")] + ".ipynb"
        download = []
        if source not in {target(h) for h in links["all"]}:
            download.append(f"no download link to {source}")
        elif not exists(source):
            download.append(f"download link to a missing file: {source}")
        if res.rel.startswith("book/") and res.rel[5:7].isdigit() and not links["runNote"]:
            download.append("no 'Run it yourself' note")
        res.check("download", download)


def check_search(page, res: PageResult) -> None:
    problems = []
    try:
        page.wait_for_function(JS_SEARCH_DONE, timeout=30_000)
    except PlaywrightError:
        problems.append(f"search for {SEARCH_WORD!r} did not finish in 30 s")
    n = page.evaluate(JS_SEARCH)
    if n:
        res.notes.append(f"search for {SEARCH_WORD!r}: {n} results")
    elif not problems:
        box = page.locator("#search-results")
        text = box.inner_text(timeout=5_000) if box.count() else "(no #search-results)"
        problems.append(f"no result for {SEARCH_WORD!r}: {shorten(text, 120)}")
    res.check("search", problems)


# ---------------------------------------------------------------------------------------------------------


def print_result(res: PageResult, verbose: bool) -> None:
    fails = [f"{k}: {m}" for k in KINDS for m in res.problems.get(k, [])]
    print(f"{'FAIL' if fails else 'ok  '} {res.rel}: {len(res.kinds)} checks, {len(fails)} failures "
          f"({res.seconds:.1f} s)", flush=True)
    for line in fails + (res.notes if verbose else []):
        print(f"    {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", type=Path, help="the built book, e.g. _build/html")
    ap.add_argument("--screenshots", type=Path, required=True, help="folder for one PNG per page")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                    help="the Chromium binary (default /usr/bin/chromium, Debian's package)")
    ap.add_argument("--max-height", type=int, default=6000, help="cut screenshots at this height (px)")
    ap.add_argument("--jobs", type=int, default=2, help="browsers working in parallel (default 2)")
    ap.add_argument("--only", nargs="+", help="check only these pages (paths in the html folder)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print notes and the time of each step")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    html_dir = args.html_dir.resolve()
    if not (html_dir / "index.html").is_file():
        print(f"check_book: no index.html in {html_dir}", file=sys.stderr)
        return 2
    args.screenshots.mkdir(parents=True, exist_ok=True)
    for old in args.screenshots.glob("*.png"):
        old.unlink()
    pages = list_pages(html_dir)
    root, order = root_and_toc_order(html_dir)
    book = PageResult("(book)")
    book.check("reachable", [f"{p} is not in the left sidebar (the toc)" for p in pages
                             if p not in order and p not in SPECIAL_PAGES]
               + [f"the sidebar lists {p}, which does not exist" for p in order if p not in pages])
    if args.only:
        pages = [p for p in pages if p in args.only]
    print(f"check_book: {len(pages)} pages in {html_dir}, toc order from the sidebar of {root} "
          f"({len(order)} pages), {args.jobs} browsers", flush=True)

    results: dict[str, PageResult] = {}
    todo = queue.Queue()
    for rel in pages:
        todo.put(rel)
    lock = threading.Lock()
    errors: list[str] = []
    server, base = serve(html_dir)

    def worker() -> None:
        try:
            with sync_playwright() as pw:
                checker = Checker(pw, args, base, html_dir, order)
                try:
                    while True:
                        try:
                            rel = todo.get_nowait()
                        except queue.Empty:
                            return
                        res = checker.run(rel)
                        with lock:
                            results[rel] = res
                            print_result(res, args.verbose)
                finally:
                    checker.close()
        except Exception as e:  # the browser could not start or died: a failure, never a silent pass
            with lock:
                errors.append(f"{type(e).__name__}: {shorten(e, 400)}")

    try:
        threads = [threading.Thread(target=worker) for _ in range(max(1, min(args.jobs, len(pages))))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        server.shutdown()
    for e in errors:
        print(f"FAIL browser: {e}")
    for rel in pages:
        if rel not in results:
            results[rel] = PageResult(rel)
            results[rel].check("load", ["not checked (the browser failed)"])
            print_result(results[rel], False)

    # PNG resolution, from the files; each file is named with the pages that show it
    shown_on = collections.defaultdict(set)
    for res in results.values():
        for name, *_ in res.figures:
            shown_on[name].add(res.rel.rsplit("/", 1)[-1])
    n_png, bad_png = check_png_dpi(html_dir)
    png = PageResult("_images")
    png.kinds += ["png-dpi"] * n_png
    for b in bad_png:
        pages_of = sorted(shown_on[b.split(":")[0]])
        png.problems["png-dpi"].append(f"{b} (on {', '.join(pages_of)})" if pages_of else b)
    book.seconds = png.seconds = 0.0
    print_result(book, False)
    print_result(png, False)
    figures = [f for res in results.values() for f in res.figures]
    if figures:
        ratios = [shown / col for _, _, shown, col in figures if col]
        print(f"info: {len(figures)} figures fill {min(ratios):.0%} to {max(ratios):.0%} of the width they can take "
              f"(the text column); {sum(nat + 0.5 < col for _, nat, _, col in figures)} are narrower than it, "
              f"{sum(nat > col + 0.5 for _, nat, _, col in figures)} are shrunk to fit")

    wrapped = [(r.rel, *r.wrapped) for r in results.values() if r.wrapped[0] or r.wrapped[1]]
    if wrapped:
        print(f"info: code lines longer than the column (about {max(w[3] for w in wrapped)} characters at "
              f"{WIDTH} px; the book's CSS wraps them): {sum(w[1] for w in wrapped)} in cells and "
              f"{sum(w[2] for w in wrapped)} in outputs, on {len(wrapped)} pages")
    everything = list(results.values()) + [book, png]
    n_checks = sum(len(r.kinds) for r in everything)
    per_kind = collections.Counter(k for r in everything for k, v in r.problems.items() for _ in v)
    n_fail = sum(per_kind.values()) + len(errors)
    kinds = ", ".join(f"{k} {per_kind[k]}" for k in KINDS if per_kind[k])
    print(f"check_book: {len(pages)} pages, {n_checks} checks, {n_fail} failures"
          f"{' (' + kinds + ')' if kinds else ''}; screenshots in {args.screenshots}; "
          f"{time.monotonic() - t0:.0f} s")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
