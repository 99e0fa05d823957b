#!/usr/bin/env python3
"""tests/snippets.py: the code a chapter text quotes is code that is compiled
and tested.

A quote in a Markdown file is a fenced code block right after a marker line,
an HTML comment (invisible on a code host and in Doxygen) that names a source
file, relative to the repository root, and a region in it:

    <!-- snippet: chapters/01-raw-switch/switch.h#switch-api -->
    ```cpp
    (the lines of the region switch-api, exactly)
    ```

A region is the lines between two marker lines of the source that carry the
region's name in brackets, as a comment of its own:

    //! [name]       C++ (and any //-comment language)
    /* [name] */     assembly, outside comments
    #! [name]        Python
     * [name]        inside a /* ... */ block comment, e.g. a stack picture:
                     the quote leaves out the " * " prefix of each line

The quote is the region with its common indentation removed. Its fence's
language tag follows from the source: cpp for C++, asm for assembly, text for
a region inside a block comment (a picture, not code). A quote inside a list
item is indented like its marker line.

Usage:
    snippets.py [--root DIR] --check    exit 1 if any quote differs from its
                                        region, or names a missing file or region
    snippets.py [--root DIR] --update   rewrite every quote from its region
                                        (`make snippets`)
    snippets.py --self-test             check that the checker catches what it should

DIR defaults to the repository this file is in. Every *.md file below it is
read, except under build/ and hidden directories.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tempfile
import textwrap

MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- snippet: (?P<path>[^#\s]+)#(?P<region>[\w.-]+) -->\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<lang>[^`\s]*)\s*$")

# Source file suffix -> the fence's language tag.
LANGUAGES = {".h": "cpp", ".hpp": "cpp", ".cpp": "cpp", ".cc": "cpp",
             ".S": "asm", ".s": "asm", ".py": "python"}
COMMENT_REGION_LANGUAGE = "text"


class SnippetError(Exception):
    pass


def region_marker_kind(line: str, name: str, python: bool = False) -> str | None:
    """'line' for `//! [name]` or `/* [name] */` (in Python, `#! [name]`),
    'block' for ` * [name]` inside a block comment, None if the line is not
    a marker of `name`."""
    n = re.escape(name)
    if python:
        return "line" if re.match(rf"^\s*#!?\s*\[{n}\]\s*$", line) else None
    if re.match(rf"^\s*(//!?\s*\[{n}\]|/\*\s*\[{n}\]\s*\*/)\s*$", line):
        return "line"
    if re.match(rf"^\s*\*\s*\[{n}\]\s*$", line):
        return "block"
    return None


def extract(root: str, path: str, name: str) -> tuple[list[str], str]:
    """The lines of region `name` in root/path, and the fence's language tag."""
    full = os.path.join(root, path)
    if not os.path.isfile(full):
        raise SnippetError(f"{path}: no such file")
    suffix = os.path.splitext(path)[1]
    if suffix not in LANGUAGES:
        raise SnippetError(f"{path}: no language tag known for '{suffix}' files")
    with open(full, encoding="utf-8") as f:
        lines = f.read().splitlines()
    marks = [(i, kind) for i, line in enumerate(lines)
             if (kind := region_marker_kind(line, name, python=suffix == ".py"))]
    if not marks:
        raise SnippetError(f"{path}: no region [{name}] (marker lines: "
                           f"//! [{name}], /* [{name}] */ or ' * [{name}]'; #! [{name}] "
                           f"in Python)")
    if len(marks) != 2:
        raise SnippetError(f"{path}: region [{name}] has {len(marks)} marker lines "
                           f"(lines {', '.join(str(i + 1) for i, _ in marks)}), expected 2")
    (start, kind), (end, _) = marks
    body = lines[start + 1:end]
    language = LANGUAGES[suffix]
    if kind == "block":
        stripped = []
        for number, line in enumerate(body, start + 2):
            m = re.match(r"^\s*\*( |$)", line)
            if not m:
                raise SnippetError(f"{path}:{number}: line in block-comment region "
                                   f"[{name}] has no ' * ' prefix")
            stripped.append(line[m.end():])
        body = stripped
        language = COMMENT_REGION_LANGUAGE
    text = textwrap.dedent("\n".join(line.rstrip() for line in body)).strip("\n")
    body = text.split("\n") if text else []
    if any(FENCE.match(line) for line in body):
        raise SnippetError(f"{path}: region [{name}] contains a line that looks like a fence")
    return body, language


class Quote:
    """One marker and the fenced block after it, in a Markdown file."""

    def __init__(self, md_path, marker_line, indent, path, region, lang, body, end_line):
        self.md_path = md_path  # the Markdown file, relative to the root
        self.marker_line = marker_line  # 0-based index of the marker line
        self.indent = indent
        self.path, self.region = path, region
        self.lang, self.body = lang, body  # as the Markdown has them now
        self.end_line = end_line  # 0-based index of the closing fence

    def where(self) -> str:
        return f"{self.md_path}:{self.marker_line + 1}"


def parse(md_path: str, lines: list[str]) -> tuple[list[Quote], list[str]]:
    """The quotes of a Markdown file, and problems with their form. Fenced
    blocks without a marker are skipped (a marker inside one is text)."""
    quotes, problems = [], []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        fence = FENCE.match(lines[i])
        if fence and not marker:  # an ordinary fenced block: skip it whole
            close = _closing_fence(lines, i + 1, fence)
            i = (close if close is not None else len(lines)) + 1
            continue
        if not marker:
            i += 1
            continue
        indent = marker.group("indent")
        where = f"{md_path}:{i + 1}"
        opening = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if not opening or opening.group("indent") != indent:
            problems.append(f"{where}: the marker must be followed by a fenced code block "
                            f"at the same indentation")
            i += 1
            continue
        close = _closing_fence(lines, i + 2, opening)
        if close is None:
            problems.append(f"{where}: the fenced block after the marker is never closed")
            break
        body = []
        for number in range(i + 2, close):
            line = lines[number]
            if line.strip() and not line.startswith(indent):
                problems.append(f"{md_path}:{number + 1}: quoted line is not indented "
                                f"like its marker")
            body.append(line[len(indent):] if line.startswith(indent) else line.strip())
        quotes.append(Quote(md_path, i, indent, marker.group("path"), marker.group("region"),
                            opening.group("lang"), body, close))
        i = close + 1
    return quotes, problems


def _closing_fence(lines, start, opening) -> int | None:
    fence = opening.group("fence")
    for j in range(start, len(lines)):
        m = FENCE.match(lines[j])
        if m and m.group("fence")[0] == fence[0] and len(m.group("fence")) >= len(fence) \
                and not m.group("lang"):
            return j
    return None


def markdown_files(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "build")
        found += [os.path.relpath(os.path.join(dirpath, n), root)
                  for n in sorted(filenames) if n.endswith(".md")]
    return found


def run(root: str, update: bool) -> tuple[list[str], int, int]:
    """Checks (or, with update, rewrites) every quote below root. Returns the
    problems left, the number of quotes, and the number rewritten."""
    problems, count, rewritten = [], 0, 0
    for md_path in markdown_files(root):
        full = os.path.join(root, md_path)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        lines = text.split("\n")
        quotes, form_problems = parse(md_path, lines)
        problems += form_problems
        count += len(quotes)
        for q in reversed(quotes):  # from the end, so earlier indices stay valid
            try:
                body, lang = extract(root, q.path, q.region)
            except SnippetError as e:
                problems.append(f"{q.where()}: {e}")
                continue
            if q.lang == lang and q.body == body:
                continue
            if update:
                fence = "```"
                block = [q.indent + fence + lang] + \
                        [(q.indent + line) if line else "" for line in body] + [q.indent + fence]
                lines[q.marker_line + 1:q.end_line + 1] = block
                rewritten += 1
                continue
            if q.lang != lang:
                problems.append(f"{q.where()}: quote of {q.path}#{q.region} is tagged "
                                f"'{q.lang}', expected '{lang}'")
            if q.body != body:
                diff = difflib.unified_diff(q.body, body, "quoted", "source", lineterm="", n=1)
                problems.append(f"{q.where()}: quote of {q.path}#{q.region} differs from "
                                f"its source (run `make snippets`):\n    "
                                + "\n    ".join(list(diff)[:30]))
        if update and "\n".join(lines) != text:
            with open(full, "w", encoding="utf-8") as f:
                f.write("\n".join(lines))
    return problems, count, rewritten


# --- self-test ---------------------------------------------------------------

SELF_TEST_SOURCES = {
    "src/a.h": "int before;\n//! [api]\nint f(int x);\n  int g();\n//! [api]\n"
               "void h() {\n  //! [inner]\n  return;\n  //! [inner]\n}\n//! [once]\n",
    "src/s.S": "/*\n * [picture]\n *   +----+\n *   | x  |\n *\n * [picture]\n */\n"
               "/* [code] */\n    ret              /* back */\n/* [code] */\n",
    "src/c.py": "def f(x):\n    #! [check]\n    if x:\n        return 1\n    #! [check]\n"
                "    return 0\n//! [wrong]\n//! [wrong]\n",  # C++ markers: not in Python
}


def _self_test_repo(markdown: str) -> str:
    root = tempfile.mkdtemp(prefix="snippets-")
    for path, text in {**SELF_TEST_SOURCES, "doc/README.md": markdown}.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
    return root


def self_test() -> int:
    good = ("# T\n\n<!-- snippet: src/a.h#api -->\n```cpp\nint f(int x);\n  int g();\n```\n\n"
            "1. item:\n\n   <!-- snippet: src/a.h#inner -->\n   ```cpp\n   return;\n   ```\n\n"
            "<!-- snippet: src/s.S#picture -->\n```text\n+----+\n| x  |\n```\n\n"
            "<!-- snippet: src/s.S#code -->\n```asm\nret              /* back */\n```\n\n"
            "<!-- snippet: src/c.py#check -->\n```python\nif x:\n    return 1\n```\n\n"
            "````md\n<!-- snippet: nowhere#x -->\n```\nnot a quote: inside a fence\n```\n````\n")
    cases = [
        ("quotes that match their regions", good, []),
        ("a changed line", good.replace("int f(int x);", "int f(long x);"), ["differs"]),
        ("a missing line", good.replace("  int g();\n", ""), ["differs"]),
        ("the comment prefix left in a picture", good.replace("\n| x  |", "\n * | x  |"),
         ["differs"]),
        ("a wrong language tag", good.replace("```asm", "```cpp"), ["tagged 'cpp', expected 'asm'"]),
        ("a missing file", good.replace("src/a.h#api", "src/gone.h#api"), ["no such file"]),
        ("a missing region", good.replace("src/a.h#api", "src/a.h#nothere"), ["no region [nothere]"]),
        ("a C++ marker in Python", good.replace("src/c.py#check", "src/c.py#wrong"),
         ["no region [wrong]"]),
        ("a region with one marker", good.replace("src/a.h#api", "src/a.h#once"),
         ["1 marker lines"]),
        ("a marker without a block", good.replace("```cpp\nint f", "\nint f"), ["must be followed"]),
        ("a list-item quote not indented", good.replace("   return;", "return;"), ["not indented"]),
    ]
    failures = 0
    for name, markdown, expected in cases:
        root = _self_test_repo(markdown)
        problems, count, _ = run(root, update=False)
        ok = (len(problems) == len(expected)
              and all(any(e in p for p in problems) for e in expected))
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(problems)} problem(s)"
              + "".join(f"\n       {p.splitlines()[0]}" for p in problems))
        failures += not ok
    # --update repairs drift, and a second run finds nothing to do.
    root = _self_test_repo(good.replace("int f(int x);", "stale").replace("```asm", "```"))
    _, _, rewritten = run(root, update=True)
    problems, count, again = run(root, update=False)
    with open(os.path.join(root, "doc/README.md"), encoding="utf-8") as f:
        repaired = f.read() == good
    ok = rewritten == 2 and not problems and count == 5 and again == 0 and repaired
    print(f"{'ok  ' if ok else 'FAIL'} --update rewrites the 2 stale quotes and leaves the rest "
          f"byte for byte: rewrote {rewritten}, then {len(problems)} problem(s)")
    failures += not ok
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--update", action="store_true")
    mode.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        return 1 if self_test() else 0
    problems, count, rewritten = run(args.root, update=args.update)
    for p in problems:
        print("FAIL", p)
    if args.update:
        print(f"{count} quotes, {rewritten} rewritten from their sources, {len(problems)} problems")
    else:
        print(f"{count} quotes checked against their sources, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
