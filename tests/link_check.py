#!/usr/bin/env python3
"""tests/link_check.py: no broken link in the book, on the site or on a code host.

  --html DIR    the built site (DIR = Doxygen's html directory, with the API
                reference under DIR/api/NN). Every href and src of every page,
                every <object data> (the diagrams), and every page named in the
                scripts Doxygen generates (the navigation tree, its index, the
                menu, the search data: every .js but Doxygen's own library
                scripts) must be a file that exists; a #fragment must be an id
                or a name in that file. (The tree's index, navtreeindex*.js,
                also names pages that are in no tree node, with an empty
                position []: those are no links, and are left out.)
  --markdown    the Markdown sources below --root, as a code host shows them:
                every link and image ([..](..), ![..](..), <a href>, <img src>,
                reference definitions), outside code, must name a file or a
                directory that exists; a #fragment in a Markdown file must be
                an <a name="..."> (or id) in it or one of its headings' slugs,
                as GitHub makes them (lower case, punctuation dropped, spaces
                to hyphens, -1, -2... for repeats); in another file, only
                GitHub's line anchors (#L12, #L12-L20) are accepted.

External links (http:, https:, mailto:...) are not fetched: they are listed,
with how many places use each, so that a reader of the output sees them.

Usage:
    link_check.py --html DIR
    link_check.py [--root DIR] --markdown
    link_check.py --self-test
"""
from __future__ import annotations

import argparse
import collections
import html
import os
import re
import shutil
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snippets import markdown_files  # noqa: E402  (the same set of pages)

EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # a scheme: http:, mailto:, javascript:...


class Report:
    def __init__(self):
        self.problems: list[str] = []
        self.checked = 0
        self.external: collections.Counter[str] = collections.Counter()

    def print(self, what: str) -> int:
        for p in self.problems:
            print("FAIL", p)
        if self.external:
            print(f"{len(self.external)} external link(s), not fetched:")
            for url, n in sorted(self.external.items()):
                print(f"  {url}  ({n}x)")
        print(f"{self.checked} links checked in {what}, {len(self.problems)} broken")
        return 1 if self.problems else 0


# --- the site ------------------------------------------------------------------

HTML_LINK = re.compile(r"""<(?P<tag>[a-zA-Z]+)\b[^>]*?\s(?P<attr>href|src|data)\s*=\s*(?P<q>["'])(?P<url>.*?)(?P=q)""", re.S)
HTML_ID = re.compile(r"""\s(?:id|name)\s*=\s*["']([^"']+)["']""")
JS_PAGE = re.compile(r"""["']((?:\.\./)*[\w./-]+\.html(?:#[^"']*)?)["'](\s*:\s*\[\s*\])?""")
# Doxygen's own scripts: code, not generated data (their strings are no links).
LIBRARY_JS = {"jquery.js", "dynsections.js", "menu.js", "navtree.js", "resize.js", "search.js"}


class Anchors:
    """The ids and names of each HTML file, read once."""

    def __init__(self):
        self.cache: dict[str, set[str]] = {}

    def of(self, path: str) -> set[str]:
        if path not in self.cache:
            with open(path, encoding="utf-8", errors="replace") as f:
                self.cache[path] = {html.unescape(i) for i in HTML_ID.findall(f.read())}
        return self.cache[path]


def check_target(report: Report, anchors: Anchors, where: str, base_dir: str, url: str) -> None:
    url = html.unescape(url.strip())
    if not url or url == "#" or url.startswith("javascript:"):
        return
    if EXTERNAL.match(url):
        report.external[url] += 1
        return
    report.checked += 1
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    target = os.path.normpath(os.path.join(base_dir, path)) if path else None
    if target is not None and not os.path.isfile(target):
        report.problems.append(f"{where}: {url}: no such file")
        return
    if parts.fragment:
        page = target or os.path.join(base_dir, os.path.basename(where.split(":")[0]))
        if page.endswith(".html") and parts.fragment not in anchors.of(page):
            report.problems.append(f"{where}: {url}: no id or name "
                                   f"{parts.fragment!r} in {os.path.basename(page)}")


def check_site(html_dir: str) -> Report:
    report, anchors = Report(), Anchors()
    for dirpath, _, filenames in os.walk(html_dir):
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, html_dir)
            if name.endswith(".html"):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in HTML_LINK.finditer(text):
                    if m.group("attr") == "data" and m.group("tag").lower() != "object":
                        continue
                    line = text.count("\n", 0, m.start()) + 1
                    check_target(report, anchors, f"{rel}:{line}", dirpath, m.group("url"))
            elif name.endswith(".js") and name not in LIBRARY_JS:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in JS_PAGE.finditer(text):
                    if m.group(2):  # "page.html":[] in the tree's index: in no node
                        continue
                    line = text.count("\n", 0, m.start()) + 1
                    check_target(report, anchors, f"{rel}:{line}", dirpath, m.group(1))
    return report


# --- the Markdown sources --------------------------------------------------------

MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MD_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
MD_HTML = re.compile(r"""<(?:a|img)\b[^>]*?\s(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
MD_ANCHOR = re.compile(r"""<a\b[^>]*?\s(?:name|id)\s*=\s*["']([^"']+)["']""", re.I)
FENCE = re.compile(r"^\s*(```+|~~~+)")
ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code, with code spans and HTML comments blanked."""
    out, fence = [], None
    text = re.sub(r"<!--.*?-->", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        out.append((number, re.sub(r"(`+)(.+?)\1", lambda s: "x" * len(s.group(0)), line)))
    return out


def github_slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)                         # HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)                       # punctuation (keeps _ and -)
    return text.replace(" ", "-")


def markdown_anchors(path: str) -> set[str]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors = set(MD_ANCHOR.findall(text))
    seen: collections.Counter[str] = collections.Counter()
    lines = prose_lines_raw(text)
    for i, (_, line) in enumerate(lines):
        heading = None
        m = ATX.match(line)
        if m:
            heading = m.group(2)
        elif (i + 1 < len(lines) and re.match(r"^\s{0,3}(=+|-+)\s*$", lines[i + 1][1])
              and line.strip() and lines[i + 1][0] == lines[i][0] + 1
              and not re.match(r"^\s*([-*+|>]|\d+[.)])", line)):
            heading = line  # a setext heading: text over === or ---
        if heading is None:
            continue
        slug = github_slug(heading)
        anchors.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return anchors


def prose_lines_raw(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code, as written (headings keep their code)."""
    out, fence = [], None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        out.append((number, line))
    return out


def check_markdown(root: str) -> Report:
    report = Report()
    cache: dict[str, set[str]] = {}
    for md in markdown_files(root):
        full = os.path.join(root, md)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        for number, line in prose_lines(text):
            urls = MD_LINK.findall(line) + MD_HTML.findall(line)
            m = MD_DEFINITION.match(line)
            if m:
                urls.append(m.group(1))
            for url in urls:
                if EXTERNAL.match(url):
                    report.external[url] += 1
                    continue
                report.checked += 1
                parts = urllib.parse.urlsplit(url)
                path = urllib.parse.unquote(parts.path)
                target = os.path.normpath(os.path.join(os.path.dirname(full), path)) if path else full
                where = f"{md}:{number}"
                if not os.path.exists(target):
                    report.problems.append(f"{where}: {url}: no such file or directory")
                    continue
                if not os.path.realpath(target).startswith(os.path.realpath(root) + os.sep):
                    report.problems.append(f"{where}: {url}: outside the repository")
                    continue
                if not parts.fragment:
                    continue
                if target.endswith(".md") and os.path.isfile(target):
                    if target not in cache:
                        cache[target] = markdown_anchors(target)
                    if parts.fragment not in cache[target]:
                        report.problems.append(
                            f"{where}: {url}: no <a name=\"{parts.fragment}\"> and no heading "
                            f"with that slug in {os.path.relpath(target, root)}")
                elif not LINE_ANCHOR.match(parts.fragment):
                    report.problems.append(f"{where}: {url}: a code host knows no "
                                           f"#{parts.fragment} in {os.path.relpath(target, root)}")
    return report


# --- self-test -------------------------------------------------------------------

def self_test() -> int:
    failures = 0

    def expect(name: str, report: Report, wanted: list[str], externals: int = 0):
        nonlocal failures
        found = [w for w in wanted if any(w in p for p in report.problems)]
        ok = (len(found) == len(wanted) and len(report.problems) == len(wanted)
              and len(report.external) == externals)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(report.problems)} problem(s), "
              f"{len(report.external)} external" + "".join(f"\n       {p}" for p in report.problems))
        failures += not ok

    def write(root: str, files: dict[str, str]) -> None:
        for rel, body in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)) or root, exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(body)

    site = tempfile.mkdtemp(prefix="links-html-")
    good_page = ('<html><body><a id="top"></a><a href="b.html#part">b</a>'
                 '<img src="pic.svg"><object type="image/svg+xml" data="pic.svg"></object>'
                 '<a href="https://example.org/">x</a><a href="#top">up</a>'
                 '<a href="javascript:void(0)">js</a></body></html>')
    write(site, {"a.html": good_page, "pic.svg": "<svg/>",
                 "b.html": '<h2><a class="anchor" id="part"></a>Part</h2>',
                 "menudata.js": 'var menudata={children:[{text:"A",url:"a.html"}]}',
                 "api/01/index.html": '<a href="../../a.html#top">book</a>'})
    expect("a site with good links", check_site(site), [], externals=1)
    write(site, {"c.html": '<a href="b.html#gone">x</a><img src="nothere.svg">'
                           '<object data="missing.svg"></object>',
                 "navtreeindex0.js": 'var NAVTREEINDEX0={"lost.html":[0],"none.html":[]};',
                 "classx.js": 'var classx=[["member","b.html#gone2",null]];'})
    expect("a site with broken links", check_site(site),
           ["'gone'", "nothere.svg", "missing.svg", "lost.html", "'gone2'"], externals=1)

    repo = tempfile.mkdtemp(prefix="links-md-")
    write(repo, {
        "README.md": "# Top\n\nSee [chapter](chapters/01-x/README.md#the-switch-step-1) and\n"
                     "[why](chapters/01-x/README.md#ch01-why), ![pic](notes/d/x.svg),\n"
                     "[src](chapters/01-x/a.h#L3), [web](https://example.org),\n"
                     "`[not a link](nowhere.md)` and [dir](chapters/).\n\n"
                     "```\n[also not](nowhere.md)\n```\n",
        "chapters/01-x/README.md": "# Chapter 01\n\n<a name=\"ch01-why\"></a>\n## Why\n\n"
                                   "## The switch, step 1\n\nBack to [top](../../README.md#top).\n",
        "chapters/01-x/a.h": "int x;\n",
        "notes/d/x.svg": "<svg/>",
    })
    expect("Markdown with good links", check_markdown(repo), [], externals=1)
    write(repo, {"notes/bad.md": "# Bad\n\n[gone](../nowhere.md), [frag](../README.md#nope),\n"
                                 "![img](d/y.svg), [code](../chapters/01-x/a.h#x),\n"
                                 "[out](../../elsewhere.md)\n"})
    expect("Markdown with broken links", check_markdown(repo),
           ["nowhere.md", "#nope", "d/y.svg", "#x", "elsewhere.md"], externals=1)
    shutil.rmtree(site)
    shutil.rmtree(repo)
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--html", metavar="DIR", help="the built site's html directory")
    mode.add_argument("--markdown", action="store_true", help="the Markdown sources below --root")
    mode.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        return 1 if self_test() else 0
    if args.html:
        if not os.path.isfile(os.path.join(args.html, "index.html")):
            print(f"FAIL no site in {args.html}: run `make docs` first")
            return 1
        return check_site(args.html).print(f"the site {args.html}")
    return check_markdown(args.root).print(f"the Markdown below {args.root}")


if __name__ == "__main__":
    sys.exit(main())
