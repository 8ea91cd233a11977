"""Helpers for the report tests: read an HTML page the way a reader (or screen reader) would."""

from __future__ import annotations

import re
from html.parser import HTMLParser

HIDDEN = {"script", "style", "svg", "head"}
HEADINGS = {"h1", "h2", "h3", "th", "figcaption", "caption"}
EXTERNAL = re.compile(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


class PageText(HTMLParser):
    """Collect visible text, heading/header text, element ids and tag counts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.headings: list[str] = []
        self.ids: list[str] = []
        self.tags: dict[str, int] = {}
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in {"br", "meta", "link", "input", "img", "hr", "path", "use", "rect", "stop"}:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.ids += [v for k, v in attrs if k == "id" and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if any(t in HIDDEN for t in self._stack):
            return
        self.text.append(data)
        if any(t in HEADINGS for t in self._stack):
            self.headings.append(data.strip())

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> PageText:
    """Parse ``html`` and return its text and structure."""
    page = PageText()
    page.feed(html)
    page.close()
    return page


def external_references(html: str) -> list[str]:
    """Return every src/href-like attribute pointing off the page (http, https or protocol-relative)."""
    return [m.group(0) for m in EXTERNAL.finditer(html)]
