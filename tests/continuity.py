#!/usr/bin/env python3
"""tests/continuity.py: every chapter is a complete snapshot of the one before.

Usage:
    continuity.py REPO_ROOT     check chapters/NN-*/ in order
    continuity.py --self-test   check that the checker catches what it should

Rules, for each chapter N after the first, against chapter N-1:
  1. every file of chapter N-1 exists in chapter N (nothing is dropped);
  2. a file whose content differs is listed in chapter N's README.md under a
     heading that contains "What changed", written as `path` (in backticks,
     relative to the chapter directory);
  3. chapter N's README.md has such a heading at all.
A chapter's exercises/ and solutions/ directories are its own: they are
never carried into the next chapter, and are left out of the comparison
(each exercise is built against the chapter it belongs to).
`make diff-NN` shows the same differences as a unified diff.
"""
import os
import re
import sys
import tempfile

IGNORED_DIRS = {"__pycache__", ".pytest_cache"}
CHAPTER_OWN_DIRS = {"exercises", "solutions"}  # per chapter, not carried forward


def chapter_files(chapter_dir):
    """All files below chapter_dir, as paths relative to it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(chapter_dir):
        top = os.path.normpath(dirpath) == os.path.normpath(chapter_dir)
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS
                             and not (top and d in CHAPTER_OWN_DIRS))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            found.append(os.path.relpath(full, chapter_dir))
    return found


def what_changed_paths(readme_path):
    """The `paths` listed under a 'What changed' heading, or None if no heading."""
    if not os.path.exists(readme_path):
        return None
    section, level = None, 0
    for line in open(readme_path, encoding="utf-8"):
        heading = re.match(r"^(#+)\s+(.*)", line)
        if heading:
            depth = len(heading.group(1))
            if "what changed" in heading.group(2).lower():
                section, level = set(), depth
                continue
            if section is not None and depth <= level:
                break
        elif section is not None:
            section.update(re.findall(r"`([^`\s]+)`", line))
    return section


def check(root):
    """Returns a list of problems (empty when the chapters are continuous)."""
    chapters_dir = os.path.join(root, "chapters")
    chapters = sorted(d for d in os.listdir(chapters_dir)
                      if re.match(r"^\d\d-", d) and os.path.isdir(os.path.join(chapters_dir, d)))
    problems = []
    for prev, cur in zip(chapters, chapters[1:]):
        prev_dir = os.path.join(chapters_dir, prev)
        cur_dir = os.path.join(chapters_dir, cur)
        listed = what_changed_paths(os.path.join(cur_dir, "README.md"))
        if listed is None:
            problems.append(f"{cur}/README.md has no 'What changed' heading")
            listed = set()
        for rel in chapter_files(prev_dir):
            if rel == "README.md":
                continue  # each chapter's text is its own
            mine = os.path.join(cur_dir, rel)
            if not os.path.exists(mine):
                problems.append(f"{cur} drops {rel}, which {prev} has")
                continue
            with open(os.path.join(prev_dir, rel), "rb") as a, open(mine, "rb") as b:
                same = a.read() == b.read()
            if not same and rel not in listed:
                problems.append(f"{cur}/{rel} differs from {prev}/{rel} but is not listed "
                                f"under 'What changed' in {cur}/README.md")
    return problems, chapters


def self_test():
    """Builds small fake repositories and checks the verdicts."""
    def make(tree):
        root = tempfile.mkdtemp(prefix="continuity-")
        for path, text in tree.items():
            full = os.path.join(root, "chapters", path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(text)
        return root

    base = {"01-a/README.md": "# One\n", "01-a/x.cpp": "int x;\n", "01-a/t/y.h": "y\n"}
    cases = [
        ("identical copy plus a new file", {**base, "02-b/README.md": "# Two\n## What changed\nnew z\n",
          "02-b/x.cpp": "int x;\n", "02-b/t/y.h": "y\n", "02-b/z.cpp": "z\n"}, []),
        ("a dropped file", {**base, "02-b/README.md": "## What changed\n", "02-b/x.cpp": "int x;\n"},
         ["drops t/y.h"]),
        ("an unlisted change", {**base, "02-b/README.md": "## What changed\n",
          "02-b/x.cpp": "int x = 1;\n", "02-b/t/y.h": "y\n"}, ["x.cpp differs"]),
        ("a listed change", {**base, "02-b/README.md": "## What changed since 01\n- `x.cpp`: init\n## Next\n",
          "02-b/x.cpp": "int x = 1;\n", "02-b/t/y.h": "y\n"}, []),
        ("listed under another heading only", {**base,
          "02-b/README.md": "## What changed\n## Other\n`x.cpp`\n",
          "02-b/x.cpp": "int x = 1;\n", "02-b/t/y.h": "y\n"}, ["x.cpp differs"]),
        ("no What changed heading", {**base, "02-b/README.md": "# Two\n",
          "02-b/x.cpp": "int x;\n", "02-b/t/y.h": "y\n"}, ["no 'What changed'"]),
        ("exercises and solutions stay in their chapter", {**base,
          "01-a/exercises/e/start.h": "todo\n", "01-a/solutions/e/start.h": "done\n",
          "02-b/README.md": "## What changed\n", "02-b/x.cpp": "int x;\n", "02-b/t/y.h": "y\n"}, []),
        ("a file named like them deeper down is compared", {**base,
          "01-a/t/exercises/z.h": "z\n",
          "02-b/README.md": "## What changed\n", "02-b/x.cpp": "int x;\n", "02-b/t/y.h": "y\n"},
         ["drops t/exercises/z.h"]),
    ]
    failures = 0
    for name, tree, expected in cases:
        problems, _ = check(make(tree))
        ok = len(problems) == len(expected) and all(
            any(e in p for p in problems) for e in expected)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {problems}")
        failures += not ok
    return failures


def main(argv):
    if argv[1:] == ["--self-test"]:
        return 1 if self_test() else 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems, chapters = check(argv[1])
    for p in problems:
        print("FAIL", p)
    print(f"{len(chapters)} chapters checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
