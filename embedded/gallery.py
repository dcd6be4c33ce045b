"""The page gallery: every IDX response of a fixture directory as the page the app shows for it,
in every language, for a product team to look at all pages at once.

`python -m embedded gallery OUT_DIR` writes it as a static site (`write_site`); the demo serves
the same pages at /_gallery when it runs against the local simulator. No aiohttp here.

A gallery page is a still picture of the app's page: the same templates, page model and texts,
with its scripts left out, since they would act on a sign-in that is not there (polling the
step, asking for a security key, probing Okta Verify's loopback ports).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from . import flow, locales, rendering
from .idx_models import IdxResponse, NotAnIdxResponse, parse
from .page import GENERIC_TEMPLATE
from .urls import Urls

# The project's own corpus in a source checkout (tests/corpus.py records it); an installed
# package has none, so the command then asks for --fixtures.
DEFAULT_FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
INDEX_TEMPLATE = "gallery/index.html"
PREVIEW = "preview"  # the CSRF token and CSP nonce of a page nobody submits
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>\s*", re.S | re.I)
# Pages on disk sit one folder down (OUT/<lang>/), the index and static files at the top.
PAGE_URLS = Urls(base="..", home="../index.html")
INDEX_URLS = Urls(base=".", home="index.html")


@dataclass(frozen=True)
class Fixture:
    group: str  # its folder under the fixture directory, "recorded/password" ("." at the top)
    name: str  # its file name without .json
    slug: str  # its pages' file name without .html: "recorded--password--02-identify"
    response: IdxResponse | None
    skipped: str | None = None  # why it has no page


def no_page_reason(response: IdxResponse) -> str | None:
    """Why the app shows no page of its own for this response, if it shows none."""
    outcome = flow.decide(response)
    if isinstance(outcome, flow.ExchangeCode):
        return "no page: the app exchanges the interaction code and signs the person in"
    if isinstance(outcome, flow.RedirectToIdp):
        return "no page: the app follows its one redirect (an identity provider) at once"
    if isinstance(outcome, flow.Expired):
        return "no page: the app starts a new sign-in and says the old one expired"
    return None


def read_fixture(path: Path, root: Path) -> Fixture:
    rel = path.relative_to(root).with_suffix("")
    group = rel.parent.as_posix()
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", "--".join(rel.parts))
    try:
        body = json.loads(path.read_bytes())
    except OSError as exc:
        return Fixture(group, rel.name, slug, None, f"cannot be read: {exc.strerror}")
    except ValueError as exc:  # bad JSON or bytes that are not text
        return Fixture(group, rel.name, slug, None, f"not JSON: {exc}")
    try:
        response = parse(body)
    except NotAnIdxResponse as exc:
        return Fixture(group, rel.name, slug, None, f"not an IDX response: {exc}")
    return Fixture(group, rel.name, slug, response, no_page_reason(response))


def collect(root: Path) -> list[Fixture]:
    """Every *.json file under `root`, in path order, each with a slug of its own ("a/b.json"
    and "a--b.json" would share one: the second gets "-2")."""
    found: dict[str, Fixture] = {}
    for path in sorted(root.rglob("*.json")):
        if path.is_file():
            fixture = read_fixture(path, root)
            slug, n = fixture.slug, 1
            while slug in found:
                n += 1
                slug = f"{fixture.slug}-{n}"
            found[slug] = replace(fixture, slug=slug)
    return list(found.values())


def render_response(env: jinja2.Environment, response: IdxResponse, lang: str, **extra: Any) -> str:
    """The page the app shows for `response`, in `lang`: its step template, else (a part the
    template cannot show) the generic one, as the app's step page does."""
    names, context = rendering.step_context(response, flow.decide(response), version=0)
    context = {**context, "csrf_token": PREVIEW, "csp_nonce": PREVIEW, "notices": [], **extra}
    try:
        return rendering.render(env, names, context, locale=lang)
    except rendering.MALFORMED:
        return rendering.render(env, GENERIC_TEMPLATE, context, locale=lang)


def still(page: str) -> str:
    return SCRIPT.sub("", page)


def page_path(lang: str, fixture: Fixture) -> str:
    """Where a page sits in the gallery, relative to its index."""
    return f"{lang}/{fixture.slug}.html"


def environment(theme_dirs: Sequence[str | Path] = ()) -> jinja2.Environment:
    """The environment for pages written to disk, for a theme chain (child first)."""
    return rendering.create_env(theme_dirs, urls=PAGE_URLS)


class Gallery:
    """The fixtures' pages in `languages`, each rendered once when first asked for."""

    def __init__(
        self,
        env: jinja2.Environment,
        fixtures: Iterable[Fixture],
        languages: Sequence[str] = locales.CODES,
        source: str = "",
    ):
        self.env = env
        self.fixtures = {f.slug: f for f in fixtures}
        self.languages = tuple(languages)
        self.source = source  # the fixture directory, as the index names it
        self._pages: dict[tuple[str, str], str | None] = {}
        self._failed: dict[str, str] = {}  # slug -> why no page could be rendered
        self._templates: dict[str, str] = {}  # slug -> the template its page uses

    def page(self, lang: str, slug: str) -> str | None:
        """A still of the fixture's page in `lang`; None for an unknown fixture or language, or
        one with no page."""
        fixture = self.fixtures.get(slug)
        if (
            fixture is None
            or fixture.response is None
            or fixture.skipped
            or lang not in self.languages
            or slug in self._failed
        ):
            return None
        if (lang, slug) not in self._pages:
            self._pages[lang, slug] = self._render(lang, fixture, fixture.response)
        return self._pages[lang, slug]

    def _render(self, lang: str, fixture: Fixture, response: IdxResponse) -> str | None:
        switch = [
            {
                "code": code,
                "name": locales.language(code).name,
                "dir": locales.language(code).direction,
                "href": f"../{page_path(code, fixture)}",
            }
            for code in self.languages
        ]
        try:
            page = render_response(self.env, response, lang, languages=switch)
        except rendering.MALFORMED as exc:  # not even the generic page: the app shows its upstream error
            self._failed[fixture.slug] = f"cannot be shown: {type(exc).__name__}"
            return None
        found = re.search(r"<!-- template: (\S+) -->", page)
        self._templates[fixture.slug] = found.group(1) if found else ""
        return still(page)

    def skipped(self) -> list[tuple[Fixture, str]]:
        return [
            (f, f.skipped or self._failed[f.slug])
            for f in self.fixtures.values()
            if f.skipped or f.slug in self._failed
        ]

    def shown(self) -> list[Fixture]:
        """Fixtures with pages (rendering each in the first language, to know)."""
        return [f for f in self.fixtures.values() if self.page(self.languages[0], f.slug) is not None]

    def missing_keys(self) -> set[str]:
        """Text keys no catalogue has, met so far (by any page of this theme chain in the process)."""
        catalogue = self.env.globals["catalogue"]
        assert isinstance(catalogue, rendering.Catalogue)  # rendering.configure put it there
        return set().union(*(catalogue.texts(code).missing for code in self.languages))

    def index(self, urls: Urls | None = None) -> str:
        """The index: the pages grouped by folder, a link per language, and what was skipped
        and why. `urls`: where the index sits, when not where the pages are."""
        groups: dict[str, list[dict[str, str]]] = {}
        for f in self.shown():
            groups.setdefault(f.group, []).append({"name": f.name, "slug": f.slug, "template": self._templates[f.slug]})
        context: dict[str, Any] = {
            "groups": groups,
            "skipped": [
                {"path": f"{f.group}/{f.name}.json".removeprefix("./"), "reason": why} for f, why in self.skipped()
            ],
            "gallery_languages": self.languages,
            "page_count": sum(len(v) for v in groups.values()) * len(self.languages),
            "source": self.source,
            "csp_nonce": PREVIEW,
        }
        if urls is not None:
            context["urls"] = urls
        return rendering.render(self.env, INDEX_TEMPLATE, context)


@dataclass(frozen=True)
class Written:
    pages: int
    skipped: int
    missing: frozenset[str]


def write_site(out: Path, gallery: Gallery, theme_dirs: Sequence[str | Path] = ()) -> Written:
    """Every page, the index and the static files (built-in, then each theme's over them,
    the child's last) under `out`, so the site looks right opened from disk."""
    written = 0
    for lang in gallery.languages:
        (out / lang).mkdir(parents=True, exist_ok=True)
        for fixture in gallery.fixtures.values():
            page = gallery.page(lang, fixture.slug)
            if page is not None:
                (out / page_path(lang, fixture)).write_text(page, encoding="utf-8")
                written += 1
    (out / "index.html").write_text(still(gallery.index(INDEX_URLS)), encoding="utf-8")
    for static in reversed(rendering.static_dirs(theme_dirs)):
        shutil.copytree(static, out / "static", dirs_exist_ok=True)
    return Written(written, len(gallery.skipped()), frozenset(gallery.missing_keys()))
