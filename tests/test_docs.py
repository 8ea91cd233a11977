"""The documentation: the generated config reference is current, links resolve, every page is in the site."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_config_reference", DOCS / "gen_config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_reference_is_current() -> None:
    gen = _generator()
    page = gen.PAGE.read_text()
    assert gen.render(page) == page, "docs/configuration.md is stale: run python docs/gen_config_reference.py"


def test_staleness_check_fails_on_a_changed_page(tmp_path: Path) -> None:
    gen = _generator()
    page = gen.PAGE.read_text()
    row = next(line for line in page.splitlines() if line.startswith("| `validation.embargo` | `int`"))
    stale = page.replace(row + "\n", "")
    assert gen.render(stale) != stale
    assert gen.render(stale) == page


def test_generated_part_lists_every_key() -> None:
    from bot.config import Config

    def keys(model: type[BaseModel], prefix: str) -> list[str]:
        out = []
        for name, info in model.model_fields.items():
            out.append(prefix + name)
            sub, suffix = _generator()._nested(info.annotation)
            if sub is not None:
                out += keys(sub, f"{prefix}{name}{suffix}.")
        return out

    generated = _generator().PAGE.read_text().split("## Every key")[1]
    documented = re.findall(r"^\| (?:`([^`]+)`|<code>([^<]+)</code>) \|", generated, re.M)
    documented = {(a or b).replace("&lt;", "<").replace("&gt;", ">") for a, b in documented}
    sections = {f"### `{n}`" for n, i in Config.model_fields.items() if _generator()._nested(i.annotation)[0]}
    missing = [k for k in keys(Config, "") if k not in documented and f"### `{k}`" not in sections]
    missing += [s for s in sections if s not in generated]
    assert not missing and len(documented) > 150


class _Inner(BaseModel):
    """An inner section."""

    depth: int = Field(default=3, ge=1, le=9)  # how deep


class _Sample(BaseModel):
    """A made-up section."""

    # the mode, in a comment
    # over two lines
    mode: Literal["a", "b"] = "b"
    size: float | None = Field(default=None, gt=0)  # bytes <max> *at most*
    inner: _Inner = _Inner()
    tags: list[str] = Field(default_factory=list, description="labels")


def test_rows_carry_type_bounds_default_and_comments() -> None:
    rows = _generator().model_rows(_Sample, "x.")
    assert rows == [
        '| `x.mode` | <code>"a" &#124; "b"</code> | `b` | the mode, in a comment over two lines |',
        "| `x.size` | <code>float &#124; None</code> (> 0) | `null` | bytes &lt;max&gt; \\*at most\\* |",
        "| `x.inner` | `_Inner` | — | An inner section. |",
        "| `x.inner.depth` | `int` (≥ 1, ≤ 9) | `3` | how deep |",
        "| `x.tags` | `list[str]` | `[]` | labels |",
    ]


def _slug(heading: str) -> str:
    """Python-Markdown's toc slug of a heading (what MkDocs anchors are)."""
    text = re.sub(r"`|\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _prose_lines(path: Path) -> list[str]:
    """Return the lines outside fenced code blocks, with inline code removed."""
    lines, fenced = [], False
    for line in path.read_text().splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in _prose_lines(path) if re.match(r"#{1,6} ", line)}


PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for line in _prose_lines(page):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked offline
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(target)
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                broken.append(target)
            elif page.parent == DOCS and path and DOCS not in [file, *file.parents]:
                broken.append(f"{target} (outside docs/: MkDocs cannot link it)")
    assert not broken, f"{page.name}: broken links {broken}"


def test_every_page_is_in_the_site_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = {next(iter(item.values())) for item in config["nav"]}
    assert nav == {p.name for p in DOCS.glob("*.md")}


def test_docs_home_repeats_the_readme_quickstart() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme[readme.index("## Quickstart") : readme.index("\n## ", readme.index("## Quickstart"))]
    assert quickstart in (DOCS / "index.md").read_text()
