#!/usr/bin/env python3
"""cmake/docs/doxygen_filter.py FILE: what Doxygen 1.9.4 reads of FILE, where
it would read the file itself differently from a code host or a compiler.

Doxygen runs it on every input (FILTER_PATTERNS in Doxyfile and in
cmake/docs/api.doxyfile) and reads its output instead of the file. It
changes no line count, so Doxygen's warnings still name the file's lines.

Markdown (*.md): a picture is written with the path a code host resolves,
from the page's own directory, ![...](../../notes/diagrams/x.svg). Doxygen
1.9.4 looks an image up by the name of a file in IMAGE_PATH
(notes/diagrams), and a path that starts with ../ matches none; it would
leave the path as it is, which from the site's flat html/ directory points
nowhere. So the path becomes the bare name: Doxygen then finds the file,
copies it into html/ and shows it.

Headers (*.h, for the per-chapter API reference): the sources are written
to be read, not for Doxygen, in two ways Doxygen trips on:
  - a snippet marker, `//! [name]` (tests/snippets.py), is a Doxygen
    comment to Doxygen: "[name]" would become part of the next
    declaration's description. It becomes an empty line.
  - in a /// comment, a word in angle brackets after a space or a slash
    (`asm/<arch>/switch.S`, `deep inside <tuple>`) is read as an unknown
    HTML tag. Its < and > are escaped (\\< \\>), so it shows as written.
    Inside `code spans` nothing is escaped (Doxygen shows code as it is).
"""
import os
import re
import sys

DIAGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notes", "diagrams")

IMAGE = re.compile(r"(!\[[^\]]*\]\()((?:[^()\s]*/)?notes/diagrams/|(?:\.\./)*diagrams/)([\w.-]+\.svg)\)")
SNIPPET_MARKER = re.compile(r"^\s*//!\s*\[[\w.-]+\]\s*$")
TAG_LIKE = re.compile(r"(?<![\w<])<(/?[A-Za-z][\w-]*)>")


def markdown(text: str) -> str:
    def bare(m: re.Match) -> str:
        name = m.group(3)
        if not os.path.exists(os.path.join(DIAGRAMS, name)):
            return m.group(0)  # not one of ours: leave it for the link check to report
        return f"{m.group(1)}{name})"
    return IMAGE.sub(bare, text)


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


def main() -> int:
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(markdown(text) if path.endswith(".md") else header(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
