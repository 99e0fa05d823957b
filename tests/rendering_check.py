#!/usr/bin/env python3
"""tests/rendering_check.py: the documentation site shows every command and
quote exactly as the Markdown writes it.

Doxygen 1.9.4 reads Markdown a little differently from a code host. Where
they disagree, the site garbles code: a code span written across two line
breaks comes out as raw backticks; a one-backtick span holding a ' followed
by a non-letter (`-tc='*x*'`) is read as a `quoted' string, so the spans
after it pair up wrongly and the text between them becomes code; text that
falls out of a code span has its -- turned into an en dash, so a pasted
command fails; a % before a word disappears even inside code (%r8); and a
backslash before a parenthesis in a code block gets an invisible joiner
(U+200D) after it. This check reads both sides and compares them:

  1. no code span in the Markdown crosses a line break (hard to see in a
     review, and the first step to every fault above), and no one-backtick
     span holds a ' before a non-letter (write those between double
     backticks, ``like='this'``, or in a code block), and no span holds a
     % before a word (Doxygen drops it: `%r8` shows as r8; a block keeps it);
  2. the code spans and code blocks (fenced or indented) of each page, in
     order, have the same text in the HTML as in the Markdown: nothing lost,
     split, merged, or with a dash or quote substituted;
  3. no backtick is left in the rendered text outside code;
  4. README.md and the chapters' texts use nothing that only Doxygen reads
     (\\snippet, [TOC], {#label}, @ref, \\ref), which a code host shows raw;
  5. every link between pages became a page link: a link left pointing at a
     .md file (e.g. other/README.md#section, which Doxygen 1.9.4 does not
     resolve) is broken on the site. Link to the page, or, within a page, to
     an <a name="..."></a> before a heading.

Usage:
    rendering_check.py [--root DIR] --html HTML_DIR [--build]
    rendering_check.py --self-test

HTML_DIR is Doxygen's html output (build/docs/html from `make docs`; ctest's
tools/docs writes build/native/docs/html). --build runs Doxygen into it first
(CFS_DOCS_OUT=HTML_DIR/..). --self-test runs Doxygen on small pages with each
fault, and checks that each is reported and that a clean page passes.
"""
from __future__ import annotations

import argparse
import difflib
import html
import os
import re
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snippets import markdown_files  # noqa: E402  (the same set of pages)

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[^`]*$")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")
HEADING = re.compile(r"^#{1,6}\s")
# Files in which Doxygen-only syntax is a fault (the notes are Doxygen pages).
PORTABLE = re.compile(r"^(README\.md|chapters/.*\.md)$")
DOXYGEN_ONLY = [
    (re.compile(r"^\s*[\\@]snippet\b"), "\\snippet (the code shows only in Doxygen)"),
    (re.compile(r"^\s*\[TOC\]\s*$"), "[TOC] (shown raw on a code host)"),
    (re.compile(r"^#+ .*\{#[\w-]+\}\s*$"), "a {#label} heading (shown raw on a code host)"),
    (re.compile(r"[\\@]ref\b"), "@ref/\\ref (shown raw on a code host)"),
]


class Item:
    """A code span or a code block, as the Markdown or the HTML has it."""

    def __init__(self, kind: str, text: str, line: int = 0, crosses: bool = False,
                 quote_trap: bool = False):
        self.kind, self.text, self.line, self.crosses = kind, text, line, crosses
        self.quote_trap = quote_trap  # see check 1: `...'x' ` in one backtick

    def key(self):
        return self.kind, self.text

    def show(self) -> str:
        text = self.text if len(self.text) < 100 else self.text[:97] + "..."
        return f"{self.kind} {text!r}"


def normalise_span(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def normalise_block(lines: list[str]) -> str:
    text = textwrap.dedent("\n".join(l.expandtabs(4).rstrip() for l in lines))
    return text.strip("\n")


# --- the Markdown side -------------------------------------------------------

def markdown_items(text: str) -> tuple[list[Item], list[tuple[int, str]]]:
    """The code spans and blocks of a Markdown page, in order, and the lines
    of Doxygen-only syntax outside code (line number, what)."""
    lines = text.split("\n")
    items: list[Item] = []
    doxygen_only: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []  # (line number, text) of a block of prose
    in_list = False
    previous_blank = True

    def flush():
        if paragraph:
            items.extend(code_spans(paragraph))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line, number = lines[i], i + 1
        fence = FENCE.match(line)
        if fence:  # a fenced block: up to the closing fence of the same kind
            flush()
            mark = fence.group("fence")
            end = i + 1
            while end < len(lines) and not re.match(
                    rf"^\s*{re.escape(mark[0])}{{{len(mark)},}}\s*$", lines[end]):
                end += 1
            items.append(Item("block", normalise_block(lines[i + 1:end]), number))
            i, previous_blank = end + 1, False
            continue
        if not line.strip():
            flush()
            i, previous_blank = i + 1, True
            continue
        indent = len(line) - len(line.lstrip(" "))
        if previous_blank and indent >= 4 and not in_list:  # an indented code block
            flush()
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            while end > i and not lines[end - 1].strip():
                end -= 1
            items.append(Item("block", normalise_block(lines[i:end]), number))
            i, previous_blank = end, False
            continue
        if LIST_ITEM.match(line):
            in_list = True
        elif indent == 0:
            in_list = False
        for pattern, what in DOXYGEN_ONLY:
            if pattern.search(re.sub(r"`[^`]*`", "", line)):
                doxygen_only.append((number, what))
        if re.match(r"^\s*<!--.*-->\s*$", line) or re.match(r"^\s*<a name=", line):
            flush()  # an HTML comment or anchor: no code in it
        elif HEADING.match(line) or line.lstrip().startswith("|") or LIST_ITEM.match(line):
            flush()  # each starts a block of its own (a heading or table row ends there too)
            paragraph.append((number, line))
            if not LIST_ITEM.match(line):
                flush()
        else:
            paragraph.append((number, line))
        i, previous_blank = i + 1, False
    flush()
    return items, doxygen_only


def code_spans(paragraph: list[tuple[int, str]]) -> list[Item]:
    """The code spans of one block of prose, as CommonMark pairs them: a run
    of n backticks up to the next run of exactly n, across lines if need be."""
    text = "\n".join(t for _, t in paragraph)
    starts = [0]
    for _, t in paragraph:
        starts.append(starts[-1] + len(t) + 1)

    def line_at(pos: int) -> int:
        k = max(j for j, s in enumerate(starts) if s <= pos)
        return paragraph[min(k, len(paragraph) - 1)][0]

    spans, pos = [], 0
    while (opening := re.compile(r"(?<![`\\])`+").search(text, pos)):
        n = len(opening.group(0))
        closing = re.compile(rf"(?<!`)`{{{n}}}(?!`)").search(text, opening.end())
        if not closing:  # no partner: literal backticks, which show raw
            spans.append(Item("unpaired", opening.group(0), line_at(opening.start())))
            pos = opening.end()
            continue
        content = text[opening.end():closing.start()]
        spans.append(Item("span", normalise_span(content), line_at(opening.start()),
                          crosses="\n" in content,
                          quote_trap=n == 1 and bool(re.search(r"'(?![A-Za-z0-9_])", content))))
        pos = closing.end()
    return spans


# --- the HTML side -----------------------------------------------------------

def html_page_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        page = f.read()
    start = page.find('<div class="header">')
    end = page.find("<!-- start footer part -->")
    return page[start if start >= 0 else 0:end if end >= 0 else len(page)]


def strip_tags(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def html_items(page: str) -> list[Item]:
    items = []
    for m in re.finditer(r'<code>(.*?)</code>|<div class="fragment">(.*?)</div><!-- fragment -->'
                         r'|<pre class="fragment">(.*?)</pre>', page, re.S):
        if m.group(1) is not None:
            items.append(Item("span", normalise_span(strip_tags(m.group(1)))))
        elif m.group(3) is not None:  # an indented code block
            items.append(Item("block", normalise_block(strip_tags(m.group(3)).split("\n"))))
        else:
            lines = re.findall(r'<div class="line">(.*?)</div>', m.group(2), re.S)
            items.append(Item("block", normalise_block([strip_tags(l) for l in lines])))
    return items


def rendered_prose(page: str) -> str:
    """The page's text outside code spans and blocks."""
    page = re.sub(r'<code>.*?</code>|<div class="fragment">.*?</div><!-- fragment -->'
                  r'|<pre class="fragment">.*?</pre>', " ", page, flags=re.S)
    return strip_tags(page)


def page_titles(html_dir: str) -> dict[str, str]:
    """Page title -> HTML file, for every page Doxygen wrote."""
    titles = {}
    for name in sorted(os.listdir(html_dir)):
        if name.endswith(".html"):
            with open(os.path.join(html_dir, name), encoding="utf-8") as f:
                m = re.search(r'<div class="title">(.*?)</div>', f.read(), re.S)
            if m:
                titles.setdefault(strip_tags(m.group(1)).strip(), name)
    return titles


def markdown_title(text: str) -> str:
    for line in text.split("\n"):
        if line.startswith("# "):
            return re.sub(r"\s*\{#[\w-]+\}\s*$", "", line[2:]).replace("`", "").strip()
    return ""


# --- the check -----------------------------------------------------------------

def check(root: str, html_dir: str) -> tuple[list[str], int]:
    problems, compared = [], 0
    titles = page_titles(html_dir)
    for md in markdown_files(root):
        if "/solutions/" in f"/{md}":
            continue  # not in the site (the Doxyfile's EXCLUDE_PATTERNS): solutions apart
        with open(os.path.join(root, md), encoding="utf-8") as f:
            text = f.read()
        md_items, doxygen_only = markdown_items(text)
        if PORTABLE.match(md):
            problems += [f"{md}:{n}: {what}" for n, what in doxygen_only]
        for item in md_items:
            if item.crosses:
                problems.append(f"{md}:{item.line}: code span crosses a line break: "
                                f"`{item.text}` (keep each code span on one line)")
            if item.kind == "unpaired":
                problems.append(f"{md}:{item.line}: backtick without a partner")
            if item.kind == "span" and re.search(r"%\w", item.text):
                problems.append(f"{md}:{item.line}: `{item.text}`: Doxygen drops a % before a "
                                f"word even inside a code span (%r8 shows as r8); reword, or "
                                f"use a code block")
            if item.quote_trap:
                problems.append(f"{md}:{item.line}: `{item.text}`: Doxygen reads a one-backtick "
                                f"span with a ' before a non-letter as a `quoted' string; "
                                f"write it between double backticks, or in a code block")
        title = markdown_title(text)
        page = titles.get(title)
        if page is None:
            problems.append(f"{md}: no page titled {title!r} in {html_dir}")
            continue
        page_text = html_page_text(os.path.join(html_dir, page))
        ours = [i for i in md_items if i.kind != "unpaired"]
        theirs = html_items(page_text)
        compared += len(ours)
        matcher = difflib.SequenceMatcher(None, [i.key() for i in ours],
                                          [i.key() for i in theirs], autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "equal":
                continue
            where = f"{md}:{ours[a0].line}" if a0 < len(ours) else f"{md}:end"
            written = "; ".join(i.show() for i in ours[a0:a1][:3]) or "nothing"
            shown = "; ".join(i.show() for i in theirs[b0:b1][:3]) or "nothing"
            problems.append(f"{where}: code rendered differently in {page}:\n"
                            f"      the Markdown has {written}\n      the HTML shows   {shown}")
        for href in re.findall(r'href="([^"]*\.md(?:#[^"]*)?)"', page_text):
            problems.append(f"{md}: a link Doxygen left unresolved in {page}: {href}")
        prose = re.sub(r"\s+", " ", rendered_prose(page_text))
        raw = [m.start() for m in re.finditer(r"`", prose)]
        if raw:
            problems.append(f"{md}: {len(raw)} raw backtick(s) in the rendered text of {page}: "
                            + " | ".join(f"...{prose[max(0, k - 40):k + 25]}..." for k in raw[:3]))
    return problems, compared


def build(root: str, html_dir: str) -> None:
    out = os.path.dirname(os.path.abspath(html_dir.rstrip("/")))
    os.makedirs(out, exist_ok=True)  # Doxygen makes one level, not a path
    env = dict(os.environ, CFS_DOCS_OUT=out)
    subprocess.run(["doxygen", "Doxyfile"], cwd=root, env=env, check=True)


# --- self-test -----------------------------------------------------------------

SELF_TEST_DOXYFILE = """PROJECT_NAME = selftest
OUTPUT_DIRECTORY = $(CFS_DOCS_OUT)
INPUT = README.md chapters
FILE_PATTERNS = *.md
RECURSIVE = YES
USE_MDFILE_AS_MAINPAGE = ./README.md
AUTOLINK_SUPPORT = NO
QUIET = YES
WARNINGS = NO
GENERATE_LATEX = NO
"""

CLEAN = """# Chapter 09: clean

Run `make chapter-09`, then `perf record --call-graph dwarf`.
A test named `the stack is full descending: ...` and an error
`cfs: yield() inside a catch block`.

```
./ch09_tests -tc='*measured bytes*' -s
objdump -d --no-show-raw-insn prog | c++filt
```

- a list item with ``--benchmark_filter='cfs resume'`` in a double-tick span
"""

FAULTS = [
    ("a code span across two line breaks", "A test\n`status: suspended\nbefore the start, dead at\nthe end` here.\n",
     ["crosses a line break", "raw backtick"]),
    ("a span with a quote, then more spans", "1. run `./t -tc='*x*' -s`, then\n   `objdump -d --no-show-raw-insn` and `c++filt`.\n",
     ["quoted' string", "rendered differently", "raw backtick"]),
    ("a span across one line break", "Then `perf record\n--call-graph dwarf` runs.\n",
     ["crosses a line break"]),
    ("AT&T registers in a code span", "Return with `pop %r8; jmp *%r8`.\n",
     ["drops a %", "rendered differently"]),
    ("a backtick without a partner", "A lone ` backtick.\n", ["without a partner", "raw backtick"]),
    ("a link to a section of another page", "See [there](../../README.md#x).\n",
     ["left unresolved"]),
    ("Doxygen-only syntax", "## Part {#label}\n\n[TOC]\n\nSee @ref label.\n",
     ["{#label}", "[TOC]", "@ref"]),
]


def self_test() -> int:
    failures = 0
    for name, body, expected in [("a clean page", "", [])] + FAULTS:
        root = tempfile.mkdtemp(prefix="rendering-")
        os.makedirs(os.path.join(root, "chapters/09-x"))
        with open(os.path.join(root, "Doxyfile"), "w") as f:
            f.write(SELF_TEST_DOXYFILE)
        with open(os.path.join(root, "README.md"), "w") as f:
            f.write("# selftest\n\n[chapter 09](chapters/09-x/README.md)\n")
        with open(os.path.join(root, "chapters/09-x/README.md"), "w") as f:
            f.write(CLEAN + "\n" + body)
        html_dir = os.path.join(root, "out", "html")
        build(root, html_dir)
        problems, _ = check(root, html_dir)
        found = [e for e in expected if any(e in p for p in problems)]
        ok = (not problems) if not expected else len(found) == len(expected)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(problems)} problem(s)"
              + "".join(f"\n       {p.splitlines()[0]}" for p in problems))
        failures += not ok
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--html", help="Doxygen's html directory")
    parser.add_argument("--build", action="store_true", help="run Doxygen into it first")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        return 1 if self_test() else 0
    if not args.html:
        parser.error("--html is required")
    if args.build:
        build(args.root, args.html)
    if not os.path.exists(os.path.join(args.html, "index.html")):
        print(f"FAIL no Doxygen site in {args.html}: run `make docs`, or pass --build")
        return 1
    problems, compared = check(args.root, args.html)
    for p in problems:
        print("FAIL", p)
    print(f"{compared} code spans and blocks compared with the HTML, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
