"""Check the internal links of a built HTML documentation: every file and anchor exists.

Usage: ``python docs/check_links.py docs/_build/html``. Exits 1, listing them, when a
link of one page to another page, image, download or anchor of the documentation points
nowhere. External links (http, https, mailto...) are not followed: the build has no
network. The nitpicky Sphinx build already fails on broken cross-references; this also
covers plain hyperlinks written in the sources and the gallery's generated pages.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name"):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for name in ("href", "src"):
            if attrs.get(name) and not (tag == "link" and attrs.get("rel") == "preconnect"):
                self.links.append(attrs[name])


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def broken_links(root):
    """``[(page, link)]`` for every internal link under ``root`` that points nowhere."""
    root = Path(root).resolve()
    cache, broken = {}, []
    for page_path in sorted(root.rglob("*.html")):
        if page_path.relative_to(root).parts[0] in ("_static", "_sources", "_images"):
            continue  # the theme's templates, copied as they are
        for link in _parse(page_path, cache).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("//"):
                continue  # external, or a data: / javascript: URL
            target = page_path if not parts.path else (page_path.parent / unquote(parts.path))
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append((page_path.relative_to(root), link))
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target, cache).ids:
                    broken.append((page_path.relative_to(root), link))
    return broken


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python docs/check_links.py BUILD_DIR")
    broken = broken_links(argv[0])
    pages = len([p for p in Path(argv[0]).rglob("*.html") if "_static" not in p.parts])
    for page, link in broken:
        print(f"{page}: broken link {link}")
    print(f"internal links: {pages} pages checked, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
