#!/usr/bin/env python3
"""tests/browser_check.py: the book opens offline in a browser, with its code
and its diagrams.

Headless Chromium (Debian's `chromium`) opens pages of the built site from
file:// URLs, as a reader who opens build/docs/html/index.html does, and
after each page's load event this script asks the page itself, through the
DevTools protocol, what it shows:

  - every code block of the page's Markdown is there: as many Doxygen
    fragments as the Markdown has fenced and indented blocks, each laid out
    with a height and holding text;
  - every diagram is there and loaded: one <object> per Markdown image of
    notes/diagrams/, whose document is an SVG with text in it, laid out with
    a width and a height (an SVG that failed to load has no document);
  - every <img> (Doxygen's own, such as its logo) has loaded (naturalWidth
    > 0), and the navigation works without a server (the tree on the left
    and the tabs have entries: Doxygen builds both with JavaScript).

Pages: the main page, chapter 01, every other page that shows a diagram, and
two pages of chapter 02's API reference (its index and cfs::Coroutine).

Why the DevTools protocol, over --remote-debugging-pipe (JSON messages on
file descriptors 3 and 4, NUL-terminated): --dump-dom prints the DOM but
cannot say whether an image or an <object> loaded, and a screenshot's size
says nothing about what is in it. The pipe needs no network port and no
package beyond Chromium and Python. --allow-file-access-from-files lets the
page read its <object>'s SVG document (file:// pages are otherwise of
unrelated origins). The run is bounded: a fresh profile directory, removed
afterwards; a timeout for the whole check; Chromium killed if it outlives
it. As root, Chromium needs --no-sandbox.

Usage:
    browser_check.py --html DIR [--root DIR] [--chromium PATH] [--timeout S]
    browser_check.py --self-test --html DIR ...
                        on a copy of the built site with faults put in (a
                        diagram's SVG deleted, a page's code blocks hidden,
                        an image deleted, the navigation's data deleted):
                        each must be reported, and the site itself must pass
"""
from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rendering_check import markdown_items, markdown_title, page_titles  # noqa: E402

DIAGRAM = re.compile(r"!\[[^\]]*\]\([^)\s]*notes/diagrams/[\w.-]+\.svg\)")

# What the page shows, asked of the page itself after its load event.
INSPECT = r"""
(() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  const blocks = [...document.querySelectorAll('div.fragment, pre.fragment')].map(b =>
      ({size: box(b), chars: b.textContent.trim().length}));
  const diagrams = [...document.querySelectorAll('object')].map(o => {
    const d = o.contentDocument;
    const svg = !!(d && d.documentElement && d.documentElement.localName === 'svg');
    return {data: o.getAttribute('data'), svg, texts: svg ? d.querySelectorAll('text').length : 0,
            size: box(o)};
  });
  const images = [...document.images].map(i =>
      ({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth}));
  return JSON.stringify({
    title: document.title, ready: document.readyState, blocks, diagrams, images,
    tree: document.querySelectorAll('#nav-tree-contents li').length,
    tabs: document.querySelectorAll('#main-menu li').length,
  });
})()
"""


class Browser:
    """Headless Chromium, spoken to over --remote-debugging-pipe."""

    def __init__(self, chromium: str, deadline: float):
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="browser-check-")
        self.log_path = os.path.join(self.profile, "chromium.log")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--disable-quic", "--mute-audio",
                 "--allow-file-access-from-files", "--window-size=1280,1000",
                 "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
                 f"--user-data-dir={self.profile}", "--remote-debugging-pipe"]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        # Chromium reads the pipe on fd 3 and writes on fd 4: sh puts them there.
        command = ["sh", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "sh",
                   chromium, *flags, "about:blank"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, pass_fds=(to_browser_r, from_browser_w),
                                            start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def log_tail(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-15:])
        except OSError:
            return ""

    def _receive(self) -> dict:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe (it exited?)\n"
                                   + self.log_tail())
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str) -> dict:
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._receive())

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                try:
                    self.call("Browser.close")
                except Exception:  # noqa: BLE001  (it is going away either way)
                    pass
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only it
                    self.process.wait()
        finally:
            os.close(self.to_browser)
            os.close(self.from_browser)
            shutil.rmtree(self.profile, ignore_errors=True)


def inspect(browser: Browser, session: str, url: str) -> dict:
    """Loads url and returns what the page shows, once it is loaded and its
    JavaScript navigation has been built (or a few seconds have passed)."""
    browser.events.clear()
    browser.call("Page.navigate", {"url": url}, session)
    browser.wait_event("Page.loadEventFired", session)
    settle = time.monotonic() + 3
    while True:
        result = browser.call("Runtime.evaluate", {"expression": INSPECT, "returnByValue": True},
                              session)
        shown = json.loads(result["result"]["value"])
        if (shown["tree"] > 0 and shown["tabs"] > 0) or time.monotonic() > settle:
            return shown
        time.sleep(0.1)


def pages_to_check(root: str, html_dir: str) -> list[tuple[str, str, int, int]]:
    """(Markdown file, HTML page, code blocks, diagrams) for the main page,
    chapter 01, every page that shows a diagram, and two API pages."""
    titles = page_titles(html_dir)
    chosen = []
    for md in sorted(os.listdir(os.path.join(root, "chapters"))):
        path = f"chapters/{md}/README.md"
        if os.path.isfile(os.path.join(root, path)):
            chosen.append(path)
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, "notes")):
        chosen += [os.path.relpath(os.path.join(dirpath, n), root) for n in sorted(filenames)
                   if n.endswith(".md")]
    result = []
    for md in ["README.md"] + chosen:
        with open(os.path.join(root, md), encoding="utf-8") as f:
            text = f.read()
        items, _ = markdown_items(text)
        blocks = sum(1 for i in items if i.kind == "block")
        diagrams = len(DIAGRAM.findall(re.sub(r"```.*?```", "", text, flags=re.S)))
        if md == "README.md" or md.startswith("chapters/01-") or diagrams:
            page = titles.get(markdown_title(text))
            result.append((md, page, blocks, diagrams))
    # And one chapter's API reference (its own Doxygen run): its index page
    # and its cfs::Coroutine class, which have no code blocks.
    api = os.path.join(html_dir, "api", "02")
    for page in ("index.html", "classcfs_1_1Coroutine.html"):
        result.append(("cmake/docs/build_book.py", f"api/02/{page}"
                       if os.path.isfile(os.path.join(api, page)) else None, 0, 0))
    return result


def check_page(md: str, page: str, blocks: int, diagrams: int, shown: dict) -> list[str]:
    problems = []
    where = f"{page} ({md})"
    if shown["ready"] != "complete":
        problems.append(f"{where}: still {shown['ready']!r} after its load event")
    laid_out = [b for b in shown["blocks"] if b["size"][1] > 0 and b["chars"] > 0]
    if len(shown["blocks"]) != blocks or len(laid_out) != blocks:
        problems.append(f"{where}: {len(shown['blocks'])} code blocks, {len(laid_out)} of them "
                        f"shown with text; the Markdown has {blocks}")
    svg = [d for d in shown["diagrams"] if d["svg"] and d["texts"] > 0
           and d["size"][0] > 0 and d["size"][1] > 0]
    if len(shown["diagrams"]) != diagrams or len(svg) != diagrams:
        problems.append(f"{where}: {len(svg)} of {len(shown['diagrams'])} diagrams loaded as an "
                        f"SVG with text; the Markdown shows {diagrams}: "
                        + json.dumps(shown["diagrams"]))
    for image in shown["images"]:
        if not image["complete"] or image["width"] <= 0:
            problems.append(f"{where}: image {image['src']} did not load")
    if shown["tree"] == 0:
        problems.append(f"{where}: the navigation tree is empty (its scripts did not run)")
    if shown["tabs"] == 0:
        problems.append(f"{where}: the tabs are empty (menudata.js did not run)")
    return problems


def run(root: str, html_dir: str, chromium: str, timeout: float) -> list[str]:
    """Opens the pages and returns the problems found."""
    pages = pages_to_check(root, html_dir)
    problems = [f"{md}: no page for it in {html_dir}" for md, page, _, _ in pages if page is None]
    browser = Browser(chromium, time.monotonic() + timeout)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.enable", {}, session)
        for md, page, blocks, diagrams in pages:
            if page is None:
                continue
            shown = inspect(browser, session, "file://" + os.path.join(html_dir, page))
            found = check_page(md, page, blocks, diagrams, shown)
            problems += found
            print(f"{'ok  ' if not found else 'FAIL'} {page}: {len(shown['blocks'])} code blocks, "
                  f"{sum(d['svg'] for d in shown['diagrams'])} diagrams, "
                  f"{len(shown['images'])} images, navigation {shown['tree']} tree entries "
                  f"and {shown['tabs']} tabs")
    except (TimeoutError, RuntimeError) as error:
        problems.append(f"{error}")
    finally:
        browser.close()
    print(f"{len(pages)} pages opened in {os.path.basename(chromium)}, {len(problems)} problems")
    return problems


def self_test(root: str, html_dir: str, chromium: str, timeout: float) -> int:
    """The site passes; a copy with four faults put in fails with each."""
    print("== the site as built")
    failures = int(bool(run(root, html_dir, chromium, timeout)))
    copy = os.path.join(tempfile.mkdtemp(prefix="browser-selftest-"), "html")
    shutil.copytree(html_dir, copy)
    try:
        pages = [p for p in pages_to_check(root, copy) if p[1]]
        with_diagram = next(p for p in pages if p[3] > 0)
        with open(os.path.join(copy, with_diagram[1]), encoding="utf-8") as f:
            svg = re.search(r'<object[^>]*data="([^"]+)"', f.read()).group(1)
        os.remove(os.path.join(copy, svg))                      # a diagram that is not there
        last = [p for p in pages if p[2] > 0][-1]  # a page with code blocks
        with open(os.path.join(copy, last[1]), encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(copy, last[1]), "w", encoding="utf-8") as f:  # code not shown
            f.write(text.replace('<div class="fragment">', '<div class="fragment" style="display:none">'))
        os.remove(os.path.join(copy, "doxygen.svg"))            # an image that is not there
        os.remove(os.path.join(copy, "navtreedata.js"))         # navigation that cannot be built
        print("== a copy with faults")
        problems = run(root, copy, chromium, timeout)
        checks = [f"{with_diagram[1]} ({with_diagram[0]}): 0 of",
                  f"{last[1]} ({last[0]}): {last[2]} code blocks, 0 of them shown with text",
                  "image doxygen.svg did not load",
                  "the navigation tree is empty"]
        for c in checks:
            found = any(c in p for p in problems)
            print(f"{'ok  ' if found else 'FAIL'} reported: {c}")
            failures += not found
    finally:
        shutil.rmtree(os.path.dirname(copy), ignore_errors=True)
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--html", required=True, help="the built site's html directory")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole check")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f"FAIL {args.chromium} not found: install Debian's chromium (cmake/setup.sh does)")
        return 1
    html_dir = os.path.abspath(args.html)
    if not os.path.isfile(os.path.join(html_dir, "index.html")):
        print(f"FAIL no site in {html_dir}: run `make docs` first")
        return 1
    if args.self_test:
        return 1 if self_test(args.root, html_dir, chromium, args.timeout) else 0
    problems = run(args.root, html_dir, chromium, args.timeout)
    for p in problems:
        print("FAIL", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
