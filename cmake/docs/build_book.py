#!/usr/bin/env python3
"""cmake/docs/build_book.py OUT: the whole book, into OUT/html.

  1. The book: `doxygen Doxyfile` (README.md as the main page, the chapter
     texts in order, the notes, the exercises and their hints; the diagrams
     of notes/diagrams/), into OUT/html.
  2. The API reference of each chapter: `doxygen cmake/docs/api.doxyfile`
     once per chapter, over that chapter's headers, into OUT/html/api/NN/,
     with an index page written here (OUT/api-src/NN/index.md): the
     chapter's headers, what each is for (the first sentence of its opening
     comment), and whether it is new or changed in this chapter.

Every run fails on any Doxygen warning (WARN_AS_ERROR); so does this
script, and it stops at the first failure. OUT is emptied first: pages of
an earlier build must not linger. `make docs` and the ctest tools/docs run
this; the checks (tests/rendering_check.py, tests/link_check.py,
tests/browser_check.py) then read OUT/html.

Usage: build_book.py OUT      (from anywhere; the repository is found from here)
"""
from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doxygen_filter import escape_outside_code  # noqa: E402  (<arch> is no HTML tag)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAYOUT = os.path.join(ROOT, "cmake", "docs", "book_layout.xml")


def chapters() -> list[str]:
    """chapters/NN-name directories, in order, relative to the root."""
    names = sorted(d for d in os.listdir(os.path.join(ROOT, "chapters"))
                   if re.match(r"^\d\d-", d) and os.path.isdir(os.path.join(ROOT, "chapters", d)))
    return [f"chapters/{d}" for d in names]


def page_name(md_path: str) -> str:
    """The HTML page Doxygen 1.9.4 makes of a Markdown file without a
    {#label}: chapters/01-raw-switch/README.md -> md_chapters_01_raw_switch_README.html."""
    return "md_" + re.sub(r"[/\\.-]", "_", md_path[:-len(".md")]) + ".html"


def headers(chapter: str) -> list[str]:
    return sorted(n for n in os.listdir(os.path.join(ROOT, chapter)) if n.endswith(".h"))


def purpose(path: str) -> str:
    """The first sentence of the header's opening comment, less the header's
    own name: what it is for."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^//+\s?(.*)$", line.strip())
            if not m or not m.group(1).strip():
                break  # the end of the first comment paragraph
            lines.append(m.group(1).strip())
    text = re.sub(r"^[\w./-]+\.h\s*:\s*", "", " ".join(lines))
    sentence = re.match(r"^(.*?[.])(\s|$)", text)
    return escape_outside_code(sentence.group(1) if sentence else text)


def chapter_title(chapter: str) -> str:
    """The first heading of the chapter's text: "Chapter 05: the kqueue loop"."""
    with open(os.path.join(ROOT, chapter, "README.md"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("# "):
                return line[2:].strip()
    return chapter


def where_from(all_chapters: list[str], index: int, name: str) -> str:
    """Whether header `name` is new or changed in all_chapters[index], or the
    chapter since which it has been exactly this file."""
    here = os.path.join(ROOT, all_chapters[index], name)
    k = index
    while k > 0:
        before = os.path.join(ROOT, all_chapters[k - 1], name)
        if not os.path.exists(before) or not filecmp.cmp(before, here, shallow=False):
            break
        k -= 1
    # all_chapters[k] is the first chapter with this exact file
    if k == index:
        existed = index > 0 and os.path.exists(os.path.join(ROOT, all_chapters[index - 1], name))
        return "**changed in this chapter**" if existed else "**new in this chapter**"
    return f"as in chapter {os.path.basename(all_chapters[k])[:2]}"


def index_page(all_chapters: list[str], index: int) -> str:
    chapter = all_chapters[index]
    number = os.path.basename(chapter)[:2]
    rows = [f"| @ref {h} \"{h}\" | {purpose(os.path.join(ROOT, chapter, h))} | "
            f"{where_from(all_chapters, index, h)} |" for h in headers(chapter)]
    back = f"../../{page_name(chapter + '/README.md')}"
    return "\n".join([
        f"# {chapter_title(chapter)}: the headers",
        "",
        f"The classes and functions of [chapter {number}]({back})'s code, as its headers "
        "document them. A chapter is a full snapshot of the one before, so this is everything "
        "its code builds on; the last column says which headers are new or changed here. "
        "Click a header for its classes and its source.",
        "",
        "| header | what it is for | in this chapter |",
        "|---|---|---|",
        *rows,
        "",
        f"Back to [the chapter]({back}) or to [the book](../../index.html).",
        "",
    ])


def check_layout(all_chapters: list[str]) -> list[str]:
    """Every chapter, and nothing else, has an entry in the book's tabs."""
    with open(LAYOUT, encoding="utf-8") as f:
        listed = re.findall(r'url="api/(\d\d)/index\.html"', f.read())
    numbers = [os.path.basename(c)[:2] for c in all_chapters]
    problems = []
    if listed != numbers:
        problems.append(f"cmake/docs/book_layout.xml lists the API of chapters {listed}, "
                        f"but the chapters are {numbers}: add or remove its <tab type=\"user\"> lines")
    return problems


def doxygen(config: str, env: dict[str, str], what: str) -> None:
    # The filter runs once per input file (some 300 times): with this very
    # interpreter, not whatever "python3" is on PATH (a version manager's
    # shim is slow to start), and without site packages (-S), which it does
    # not need: a third of the start-up time.
    env = dict(os.environ, CFS_PYTHON=f"{sys.executable} -S -E", **env)
    result = subprocess.run(["doxygen", config], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"FAIL {what}: doxygen {config} failed (its warnings are above)")


def build(out: str) -> None:
    out = os.path.abspath(out)
    all_chapters = chapters()
    problems = check_layout(all_chapters)
    if problems:
        raise SystemExit("FAIL " + "\n".join(problems))
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    doxygen("Doxyfile", {"CFS_DOCS_OUT": out}, "the book")
    os.makedirs(os.path.join(out, "html", "api"))
    for index, chapter in enumerate(all_chapters):
        number = os.path.basename(chapter)[:2]
        source = os.path.join(out, "api-src", number)
        os.makedirs(source)
        mainpage = os.path.join(source, "index.md")
        with open(mainpage, "w", encoding="utf-8") as f:
            f.write(index_page(all_chapters, index))
        doxygen("cmake/docs/api.doxyfile", {
            "CFS_API_OUT": os.path.join(out, "html", "api"),
            "CFS_API_NUMBER": number,
            "CFS_API_CHAPTER": chapter,
            "CFS_API_TITLE": f"coroutines-from-scratch: chapter {number}'s headers",
            "CFS_API_MAINPAGE": mainpage,
        }, f"the API reference of {chapter}")
    print(f"the book: {out}/html/index.html, with the API reference of "
          f"{len(all_chapters)} chapters in {out}/html/api/")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[0])
        print("usage: build_book.py OUT")
        return 2
    build(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
