"""No link of the README, docs/ or examples/ leaves the repository, every relative link and
anchor resolves, and docs/README.md links every page of docs/."""
import glob
import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"\.\./shared|CONTRACT\.md|DESIGN\.md")


def pages():
    out = [os.path.join(ROOT, "README.md")]
    out += glob.glob(os.path.join(ROOT, "docs", "*.md"))
    out += glob.glob(os.path.join(ROOT, "examples", "**", "*.md"), recursive=True)
    return sorted(out)


def slug(heading):
    """GitHub's anchor for a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    with open(path) as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


class DocLinksTest(unittest.TestCase):
    def test_nothing_points_outside_the_repository(self):
        for page in pages():
            with open(page) as f:
                for n, line in enumerate(f, 1):
                    self.assertIsNone(OUTSIDE.search(line), "%s:%d: %s" % (page, n, line.strip()))

    def test_no_file_of_the_repository_names_an_outside_file(self):
        # Help texts, comments and scripts too: a user of this repository has nothing beside it.
        import subprocess
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split()
        here = os.path.relpath(os.path.abspath(__file__), ROOT)
        bad = []
        for rel in files:
            if rel == here:
                continue
            try:
                with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        if OUTSIDE.search(line):
                            bad.append("%s:%d: %s" % (rel, n, line.strip()))
            except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
                continue
        self.assertEqual(bad, [])

    def test_relative_links_and_anchors_resolve(self):
        for page in pages():
            with open(page) as f:
                text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
            for target in LINK.findall(text):
                if re.match(r"[a-z]+:", target):
                    continue  # https:, mailto:
                where = "%s: (%s)" % (os.path.relpath(page, ROOT), target)
                path, _, anchor = target.partition("#")
                full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                self.assertTrue(full.startswith(ROOT + os.sep), where + " leaves the repository")
                self.assertTrue(os.path.exists(full), where + " does not exist")
                if anchor and full.endswith(".md"):
                    self.assertIn(anchor, anchors(full), where + ": no such heading")

    def test_docs_index_links_every_page(self):
        with open(os.path.join(ROOT, "docs", "README.md")) as f:
            linked = set(LINK.findall(f.read()))
        for path in glob.glob(os.path.join(ROOT, "docs", "*")):
            name = os.path.basename(path)
            if name != "README.md" and name.endswith((".md", ".yaml")):
                self.assertIn(name, linked, "docs/README.md does not link " + name)


if __name__ == "__main__":
    unittest.main()
