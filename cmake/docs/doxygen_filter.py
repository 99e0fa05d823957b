#!/usr/bin/env python3
"""cmake/docs/doxygen_filter.py FILE: what Doxygen 1.9.4 reads of FILE, where
it would read the file itself differently from a code host or a compiler.

Doxygen runs it on every input (FILTER_PATTERNS in Doxyfile and in
cmake/docs/api.doxyfile) and reads its output instead of the file. It
changes no line count, so Doxygen's warnings still name the file's lines.

Markdown (*.md), pictures: a picture is written with the path a code host resolves,
from the page's own directory, ![...](../../notes/diagrams/x.svg). Doxygen
1.9.4 looks an image up by the name of a file in IMAGE_PATH
(notes/diagrams), and a path that starts with ../ matches none; it would
leave the path as it is, which from the site's flat html/ directory points
nowhere. So the path becomes the bare name: Doxygen then finds the file,
copies it into html/ and shows it.

Markdown, the tree of pages: a chapter's exercises are pages of their own
(chapters/NN-*/exercises/README.md, one README.md per exercise below it,
perhaps more pages beside them), and Doxygen 1.9.4 lists every page at the
top of the site's navigation tree, in the order of their paths: the
exercises would come before their chapter, all at one level. Each page
gets, at its end and hidden (display:none), Doxygen's \subpage for every
page whose parent it is, so that the tree nests them: a page's parent is
the README.md beside it, or for a README.md the nearest one in a directory
above. The main page gets none (the chapters and notes are its children in
the tree already). Nothing visible changes: the pages still link to each
other with their own Markdown links.

Headers (*.h, for the per-chapter API reference): the sources are written
to be read, not for Doxygen, in two ways Doxygen trips on:
  - a snippet marker, `//! [name]` (tests/snippets.py), is a Doxygen
    comment to Doxygen: "[name]" would become part of the next
    declaration's description. It becomes an empty line.
  - in a /// comment, a word in angle brackets after a space or a slash
    (`asm/<arch>/switch.S`, `deep inside <tuple>`) is read as an unknown
    HTML tag. Its < and > are escaped (\\< \\>), so it shows as written.
    Inside `code spans` nothing is escaped (Doxygen shows code as it is).

`doxygen_filter.py --self-test` checks each rewrite on small inputs (ctest
tools/doxygen-filter-selftest).
"""
import os
import re
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DIAGRAMS = os.path.join(ROOT, "notes", "diagrams")

# notes/diagrams/x.svg (the diagrams), or notes/x.svg (the benchmark plots).
IMAGE = re.compile(r"(!\[[^\]]*\]\()((?:[^()\s]*/)?notes/diagrams/|(?:\.\./)*diagrams/|(?:[^()\s]*/)?notes/)"
                   r"([\w.-]+\.svg)\)")
# Directories whose pages are not in the book (the Doxyfile's EXCLUDE_PATTERNS).
EXCLUDED = {"build", "solutions"}
SNIPPET_MARKER = re.compile(r"^\s*//!\s*\[[\w.-]+\]\s*$")
TAG_LIKE = re.compile(r"(?<![\w<])<(/?[A-Za-z][\w-]*)>")


def markdown(text: str, path: str) -> str:
    def bare(m: re.Match) -> str:
        name = m.group(3)
        folder = DIAGRAMS if "diagrams/" in m.group(2) else os.path.dirname(DIAGRAMS)
        if not os.path.exists(os.path.join(folder, name)):
            return m.group(0)  # not one of ours: leave it for the link check to report
        return f"{m.group(1)}{name})"
    return subpages(IMAGE.sub(bare, text), path)


def parent_page(page: str) -> str | None:
    """The README.md beside page (for a page that is not one), else the
    README.md in the nearest directory above page's own; None for the main
    page, or a page outside the repository."""
    directory = os.path.dirname(page)
    if os.path.basename(page) != "README.md" and os.path.isfile(os.path.join(directory, "README.md")):
        return os.path.join(directory, "README.md")
    directory = os.path.dirname(directory)
    while directory.startswith(ROOT):
        candidate = os.path.join(directory, "README.md")
        if os.path.isfile(candidate):
            return candidate
        directory = os.path.dirname(directory)
    return None


def page_label(page: str) -> str:
    """Doxygen's name for a Markdown page: its first heading's {#label}, else
    md_ and its path with / . - as _ (chapters/01-x/README.md: md_chapters_01_x_README)."""
    with open(page, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# "):
                label = re.search(r"\{#([\w-]+)\}\s*$", line)
                if label:
                    return label.group(1)
                break
    rel = os.path.relpath(page, ROOT)
    return "md_" + re.sub(r"[/\\.-]", "_", rel[:-len(".md")])


def children(page: str) -> list[str]:
    """The Markdown pages whose parent is page, in the order of their titles
    (numbers compared as numbers: exercise 9 before exercise 10)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.dirname(page)):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED and not d.startswith(".")]
        found += [os.path.join(dirpath, n) for n in filenames
                  if n.endswith(".md") and parent_page(os.path.join(dirpath, n)) == page]
    return sorted(found, key=lambda p: [int(t) if t.isdigit() else t.lower()
                                        for t in re.split(r"(\d+)", page_title(p))])


def page_title(page: str) -> str:
    with open(page, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# "):
                return line[2:].strip()
    return os.path.relpath(page, ROOT)


def subpages(text: str, path: str) -> str:
    here = os.path.realpath(path)
    if here == os.path.join(ROOT, "README.md"):
        return text
    below = children(here)
    if not below:
        return text
    refs = "\n".join(f"\\subpage {page_label(p)}" for p in below)
    return f'{text.rstrip()}\n\n<div style="display:none">\n{refs}\n</div>\n'


def escape_outside_code(text: str) -> str:
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = TAG_LIKE.sub(r"\\<\1\\>", parts[i])
    return "`".join(parts)


def header(text: str) -> str:
    out = []
    for line in text.split("\n"):
        if SNIPPET_MARKER.match(line):
            out.append("")
        elif "///" in line:  # a doc comment, on its own or after a member (///<)
            at = line.index("///") + 3
            out.append(line[:at] + escape_outside_code(line[at:]))
        else:
            out.append(line)
    return "\n".join(out)


def self_test() -> int:
    """Each rewrite on a small input, and what must stay as it is."""
    import tempfile
    global ROOT, DIAGRAMS
    saved = ROOT, DIAGRAMS
    failures = 0

    def case(name: str, got: str, want: str) -> None:
        nonlocal failures
        ok = got == want
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"\n  got  {got!r}\n  want {want!r}"))
        failures += not ok

    root = os.path.realpath(tempfile.mkdtemp(prefix="doxygen-filter-"))
    try:
        ROOT, DIAGRAMS = root, os.path.join(root, "notes", "diagrams")
        pages = {"README.md": "# Top\n", "chapters/01-x/README.md": "# Chapter 01\n",
                 "chapters/01-x/exercises/README.md": "# Chapter 01: exercises\n",
                 "chapters/01-x/exercises/b/README.md": "# Exercise 10: b\n",
                 "chapters/01-x/exercises/a/README.md": "# Exercise 9: a\n",
                 "chapters/01-x/exercises/a/HINTS.md": "# More hints {#a-hints}\n",
                 "chapters/01-x/solutions/a/README.md": "# A solution\n",
                 "notes/diagrams/x.svg": "<svg/>"}
        for rel, body in pages.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(body)
        chapter = os.path.join(root, "chapters/01-x/README.md")
        case("a diagram: its bare name", markdown("![a](../../notes/diagrams/x.svg)\n", chapter)
             .split("\n")[0], "![a](x.svg)")
        case("a picture that is not a diagram: as it is",
             markdown("![a](../../notes/diagrams/y.svg)", os.path.join(root, "README.md")),
             "![a](../../notes/diagrams/y.svg)")
        case("the chapter: its exercises page, hidden, at the end",
             markdown("text", chapter),
             'text\n\n<div style="display:none">\n\\subpage '
             'md_chapters_01_x_exercises_README\n</div>\n')
        case("the exercises page: each exercise, in the order of their numbers",
             markdown("t", os.path.join(root, "chapters/01-x/exercises/README.md")),
             't\n\n<div style="display:none">\n\\subpage md_chapters_01_x_exercises_a_README\n'
             '\\subpage md_chapters_01_x_exercises_b_README\n</div>\n')
        case("an exercise: the page beside it, by its label",
             markdown("t", os.path.join(root, "chapters/01-x/exercises/a/README.md")),
             't\n\n<div style="display:none">\n\\subpage a-hints\n</div>\n')
        case("the main page: no subpages", markdown("t", os.path.join(root, "README.md")), "t")
        case("a snippet marker: an empty line", header("//! [name]\nint x;"), "\nint x;")
        case("a word in angle brackets in a /// comment: escaped",
             header("/// asm/<arch>/x.S, inside <tuple>\nint f();  ///< Coroutine<int> `<b>`"),
             "/// asm/\\<arch\\>/x.S, inside \\<tuple\\>\nint f();  ///< Coroutine<int> `<b>`")
        case("a plain comment: as it is", header("// a <b> c\n"), "// a <b> c\n")
    finally:
        ROOT, DIAGRAMS = saved
        import shutil
        shutil.rmtree(root, ignore_errors=True)
    return failures


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return 1 if self_test() else 0
    if len(sys.argv) != 2:
        print("usage: doxygen_filter.py FILE | --self-test", file=sys.stderr)
        return 2
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(markdown(text, path) if path.endswith(".md") else header(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
