"""The page gallery: `python -m embedded gallery OUT_DIR` over the project's own corpus in every
language, and the demo's /_gallery against the simulator (never for a real org).
(tests/conformance/test_gallery_corpus.py: the same over Okta's Sign-In Widget fixtures;
tests/browser/test_gallery_browser.py: /_gallery in Chromium.)"""

from __future__ import annotations

import argparse
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import RECORDED, ROOT

from embedded import flow, locales
from embedded.__main__ import build_demo, main
from embedded.demo import create_app
from embedded.idx_models import NotAnIdxResponse, parse
from embedded.testing import PLACEHOLDER_ORG

FIXTURES = ROOT / "tests" / "fixtures"
NO_PAGE = (flow.ExchangeCode, flow.RedirectToIdp, flow.Expired)


def expected_pages() -> tuple[set[str], set[str]]:
    """(slugs with a page, slugs without), read straight off the corpus: a page for every IDX
    response the app shows one for."""
    pages, none = set(), set()
    for path in sorted(FIXTURES.rglob("*.json")):
        slug = "--".join(path.relative_to(FIXTURES).with_suffix("").parts)
        try:
            outcome = flow.decide(parse(json.loads(path.read_text(encoding="utf-8"))))
        except NotAnIdxResponse:
            none.add(slug)
            continue
        (none if isinstance(outcome, NO_PAGE) else pages).add(slug)
    return pages, none


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag in ("link", "img") and (a.get("href") or a.get("src")):
            self.srcs.append(a.get("href") or a.get("src"))
        self.scripts += tag == "script"


def links(html: str) -> Links:
    scan = Links()
    scan.feed(html)
    return scan


def html_lang(html: str) -> tuple[str, str]:
    m = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', html)
    assert m, html[:200]
    return m.group(1), m.group(2)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, int, str]:
    """The gallery of the project's corpus in every language, written once for this module."""
    out = tmp_path_factory.mktemp("gallery")
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["gallery", str(out)])
    return out, status, printed.getvalue()


def test_every_page_of_the_corpus_in_every_language_with_no_missing_key(site):
    out, status, printed = site
    pages, none = expected_pages()
    assert status == 0, printed
    assert len(pages) > 100
    assert f"{len(pages) * len(locales.CODES)} pages written" in printed
    assert f"{len(none)} fixtures skipped, 0 missing text keys" in printed
    for code in locales.CODES:
        written = {p.stem for p in (out / code).glob("*.html")}
        assert written == pages, code
        for slug in sorted(pages)[::10]:
            html = (out / code / f"{slug}.html").read_text(encoding="utf-8")
            assert html_lang(html) == (code, locales.language(code).direction)
            assert links(html).scripts == 0  # a still: nothing runs


def test_every_link_of_the_index_and_of_the_pages_resolves_to_a_written_file(site):
    out = site[0]
    index = links((out / "index.html").read_text(encoding="utf-8"))
    pages, _ = expected_pages()
    assert len(index.hrefs) >= len(pages) * len(locales.CODES)
    assert {h for h in index.hrefs if h.endswith(".html")} >= {f"{c}/{s}.html" for c in locales.CODES for s in pages}
    for ref in [h for h in index.hrefs if not h.startswith(("http", "/"))] + index.srcs:
        assert (out / urlsplit(ref).path).is_file(), ref
    page = out / "ar" / "recorded--password--01-introspect.html"
    scan = links(page.read_text(encoding="utf-8"))
    local = [r for r in scan.hrefs + scan.srcs if not urlsplit(r).scheme and r.startswith("..")]
    assert (
        "../index.html" in local
        and "../static/css/embedded.css" in local
        and "../fr/recorded--password--01-introspect.html" in local
    )
    for ref in local:
        assert (page.parent / urlsplit(ref).path).resolve().is_file(), ref


def test_the_index_says_what_has_no_page_and_why(site):
    index = (site[0] / "index.html").read_text(encoding="utf-8")
    skipped = dict(re.findall(r"<dt><code>([^<]+)</code></dt><dd data-skipped>([^<]+)</dd>", index))
    assert skipped["recorded/manifest.json"].startswith("not an IDX response")
    assert skipped["recorded/password/03-challenge-answer.json"].startswith(
        "no page: the app exchanges the interaction code"
    )
    assert skipped["recorded/session-expired/03-challenge-answer.json"].startswith(
        "no page: the app starts a new sign-in"
    )
    assert len(skipped) == len(expected_pages()[1])
    assert (
        '<span class="field__hint" data-template>steps/challenge-authenticator--okta_password.html</span>' in index
    )  # which file to override


def test_pages_are_translated(site):
    out = site[0]
    for code in locales.CODES:
        texts = json.loads((ROOT / "templates" / "messages" / f"{code}.json").read_text(encoding="utf-8"))
        html = (out / code / "recorded--password--01-introspect.html").read_text(encoding="utf-8")
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()
        assert heading == texts["title.identify"].replace("'", "&#39;"), code


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_documents_that_are_not_idx_responses_are_listed_never_a_crash(tmp_path, capsys):
    fixtures = tmp_path / "fixtures"
    write(fixtures / "good" / "identify.json", (RECORDED.directory / "password" / "01-introspect.json").read_text())
    write(fixtures / "broken.json", "{not json")
    write(fixtures / "list.json", "[1, 2]")
    write(
        fixtures / "api-error.json",
        json.dumps({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"}),
    )
    (fixtures / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    out = tmp_path / "out"
    assert main(["gallery", str(out), "--fixtures", str(fixtures), "--lang", "fr", "--lang", "ar"]) == 0
    printed = capsys.readouterr().out
    assert "2 pages written (1 fixtures x 2 languages), 4 fixtures skipped, 0 missing text keys" in printed
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.html")) == [
        "ar/good--identify.html",
        "fr/good--identify.html",
    ]
    index = (out / "index.html").read_text(encoding="utf-8")
    skipped = dict(re.findall(r"<dt><code>([^<]+)</code></dt><dd data-skipped>([^<]+)</dd>", index))
    assert set(skipped) == {"broken.json", "list.json", "api-error.json", "binary.json"}
    assert skipped["broken.json"].startswith("not JSON") and skipped["api-error.json"].startswith("not an IDX response")
    assert skipped["list.json"].startswith("not an IDX response") and skipped["binary.json"].startswith("not JSON")


def test_chinese_tags_write_the_script_they_name(tmp_path, capsys):
    """--lang zh-Hant-HK writes the Traditional Chinese pages, --lang zh the Simplified ones, each
    page's switch linking the other; the same language asked twice is written once."""
    fixtures = tmp_path / "fixtures"
    write(fixtures / "identify.json", (RECORDED.directory / "password" / "01-introspect.json").read_text())
    out = tmp_path / "out"
    args = ["gallery", str(out), "--fixtures", str(fixtures), "--lang", "zh-Hant-HK", "--lang", "zh", "--lang", "zh-tw"]
    assert main(args) == 0
    assert "2 pages written (1 fixtures x 2 languages)" in capsys.readouterr().out
    for code, other in (("zh-TW", "zh-CN"), ("zh-CN", "zh-TW")):
        html = (out / code / "identify.html").read_text(encoding="utf-8")
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()
        texts = json.loads((ROOT / "templates" / "messages" / f"{code}.json").read_text(encoding="utf-8"))
        assert html_lang(html) == (code, "ltr") and heading == texts["title.identify"]
        assert f'href="../{other}/identify.html" hreflang="{other}"' in html


def test_fixtures_whose_names_meet_each_get_their_own_page(tmp_path, capsys):
    fixtures = tmp_path / "fixtures"
    identify = (RECORDED.directory / "password" / "01-introspect.json").read_text()
    write(fixtures / "a" / "b.json", identify)
    write(fixtures / "a--b.json", (RECORDED.directory / "password" / "02-identify.json").read_text())
    out = tmp_path / "out"
    assert main(["gallery", str(out), "--fixtures", str(fixtures), "--lang", "en"]) == 0
    assert sorted(p.name for p in (out / "en").glob("*.html")) == ["a--b-2.html", "a--b.html"]
    assert "<!-- template: steps/identify.html -->" in (out / "en" / "a--b.html").read_text()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="en/a--b.html"' in index and 'href="en/a--b-2.html"' in index


def test_a_missing_text_key_is_counted_and_fails_the_command(tmp_path, capsys):
    theme = tmp_path / "theme"
    write(
        theme / "steps" / "identify.html",
        '{% extends "steps/_generic.html" %}{% block title %}{{ ui("gallery.no_such_key") }}{% endblock %}',
    )
    fixtures = tmp_path / "fixtures"
    write(fixtures / "identify.json", (RECORDED.directory / "password" / "01-introspect.json").read_text())
    assert (
        main(["gallery", str(tmp_path / "out"), "--fixtures", str(fixtures), "--theme", str(theme), "--lang", "de"])
        == 1
    )
    captured = capsys.readouterr()
    assert "1 missing text keys" in captured.out
    assert captured.err.strip() == "embedded: gallery: text keys no catalogue has: gallery.no_such_key"


def test_a_theme_shapes_the_gallery_and_its_static_files_are_copied(tmp_path, capsys):
    parent, child = tmp_path / "parent", tmp_path / "child"
    write(
        parent / "messages" / "en.json", json.dumps({"app.title": "Parent Co", "title.identify": "Parent says hello"})
    )
    write(child / "messages" / "en.json", json.dumps({"app.title": "Child Co"}))
    write(parent / "static" / "img" / "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'><title>parent</title></svg>")
    write(child / "static" / "img" / "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'><title>child</title></svg>")
    fixtures = tmp_path / "fixtures"
    write(fixtures / "identify.json", (RECORDED.directory / "password" / "01-introspect.json").read_text())
    out = tmp_path / "out"
    assert (
        main(
            [
                "gallery",
                str(out),
                "--fixtures",
                str(fixtures),
                "--theme",
                str(child),
                "--theme",
                str(parent),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    page = (out / "en" / "identify.html").read_text(encoding="utf-8")
    assert "Child Co" in page and "Parent Co" not in page and "Parent says hello" in page  # child first, then parent
    assert "<title>child</title>" in (out / "static" / "img" / "logo.svg").read_text()
    assert (out / "static" / "css" / "embedded.css").is_file()  # the built-in ones beneath


@pytest.mark.parametrize(
    "args, error",
    [
        (
            ["gallery", "OUT", "--fixtures", "no/such/dir"],
            "embedded: gallery: argument --fixtures: no/such/dir: no such directory",
        ),
        (
            ["gallery", "OUT", "--theme", "no/such/theme"],
            "embedded: gallery: argument --theme: no/such/theme: no such directory",
        ),
        (
            ["gallery", "OUT", "--lang", "xx"],
            f"embedded: gallery: argument --lang: unknown language 'xx' (one of {', '.join(locales.CODES)})",
        ),
        (["gallery"], "embedded: gallery: the following arguments are required: OUT_DIR"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(args, error, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert capsys.readouterr().err == error + "\n"


def test_an_output_path_that_cannot_be_written_is_refused_in_one_line(tmp_path, capsys):
    write(tmp_path / "taken", "")
    assert main(["gallery", str(tmp_path / "taken")]) == 2
    assert capsys.readouterr().err == f"embedded: gallery: {tmp_path / 'taken'} is not a directory\n"
    assert main(["gallery", str(tmp_path / "taken" / "below"), "--lang", "en"]) == 2
    assert (
        capsys.readouterr().err == f"embedded: gallery: cannot write {tmp_path / 'taken' / 'below'}: Not a directory\n"
    )


# --- /_gallery in the demo --------------------------------------------------------------------------


@pytest.fixture
async def gallery_client(aiohttp_client, embedded_simulator):
    """The demo as `python -m embedded` builds it against the simulator: with the gallery."""
    return await aiohttp_client(create_app(embedded_simulator.settings(prefix=""), simulator=True))


def csp_directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


async def test_the_demo_serves_the_gallery_under_the_apps_csp(gallery_client):
    moved = await gallery_client.get("/_gallery", allow_redirects=False)
    assert moved.status == 301 and moved.headers["Location"] == "/_gallery/"
    index = await gallery_client.get("/_gallery/")
    html = await index.text()
    assert index.status == 200 and "<h1>Page gallery</h1>" in html
    login = await gallery_client.get("/login/step", allow_redirects=False)  # any page of the package's, for its policy
    gallery_csp, app_csp = (
        csp_directives(index.headers["Content-Security-Policy"]),
        csp_directives(login.headers["Content-Security-Policy"]),
    )
    assert gallery_csp.keys() == app_csp.keys() and gallery_csp["default-src"] == "'none'"
    assert {k: v for k, v in gallery_csp.items() if k != "script-src"} == {
        k: v for k, v in app_csp.items() if k != "script-src"
    }
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]+'", gallery_csp["script-src"])
    assert index.headers["X-Frame-Options"] == "DENY" and index.headers["Cache-Control"] == "no-store"
    pages, _ = expected_pages()
    hrefs = [h for h in links(html).hrefs if h.endswith(".html")]
    assert len(hrefs) == len(pages) * len(locales.CODES)
    for href in hrefs[:: len(locales.CODES) - 2]:  # every fixture, in turns of language
        page = await gallery_client.get(f"/_gallery/{href}")
        body = await page.text()
        assert page.status == 200 and "Content-Security-Policy" in page.headers, href
        assert html_lang(body)[0] == href.split("/")[0] and links(body).scripts == 0
        assert "../static/" not in body and '/static/css/embedded.css"' in body  # the app's own static files


async def test_unknown_gallery_pages_get_the_friendly_404(gallery_client):
    for path in (
        "/_gallery/xx/recorded--password--01-introspect.html",
        "/_gallery/en/no-such-page.html",
        "/_gallery/en/recorded--manifest.html",
        "/_gallery/en/..%2F..%2Fpyproject.html",
        "/_gallery/en/recorded--password--03-challenge-answer.html",
    ):
        resp = await gallery_client.get(path)
        text = await resp.text()
        assert resp.status == 404 and "Traceback" not in text and "<!-- template: error.html -->" in text, path


async def test_a_gallery_page_is_the_apps_own_page_for_that_response(aiohttp_client, idx_replay):
    """The sign-in page the app shows for the recorded response, and its gallery page, are the
    same markup but for the per-browser bits (CSRF token, step number, scripts)."""
    idx_replay.play_recorded(RECORDED.directory, "password")
    client = await aiohttp_client(create_app(idx_replay.settings(prefix=""), simulator=True))
    app_page = await (await client.get("/login")).text()
    gallery_page = await (await client.get("/_gallery/en/recorded--password--01-introspect.html")).text()

    def main_part(html: str) -> str:
        html = re.sub(r"<script\b[^>]*>.*?</script>\s*", "", html, flags=re.S)
        html = re.sub(r'name="_csrf" value="[^"]*"', 'name="_csrf" value=""', html)
        html = re.sub(r'name="_step" value="[^"]*"', 'name="_step" value=""', html)
        html = html.replace(idx_replay.origin, PLACEHOLDER_ORG)
        return re.search(r"<main.*</main>", html, re.S).group(0)

    assert "<!-- template: steps/identify.html -->" in app_page
    assert main_part(gallery_page) == main_part(app_page)


async def test_without_the_corpus_the_index_says_so(aiohttp_client, embedded_simulator, monkeypatch):
    monkeypatch.setattr("embedded.gallery.DEFAULT_FIXTURES", ROOT / "no-such-dir")  # as in an installed package
    client = await aiohttp_client(create_app(embedded_simulator.settings(prefix=""), simulator=True))
    index = await client.get("/_gallery/")
    html = await index.text()
    assert index.status == 200 and "data-empty>No pages: no IDX fixtures here." in html and "data-page" not in html


async def test_not_served_for_a_real_org(aiohttp_client, idx_replay):
    client = await aiohttp_client(create_app(idx_replay.settings(prefix="")))
    for path in ("/_gallery/", "/_gallery/en/recorded--password--01-introspect.html"):
        assert (await client.get(path)).status == 404


async def test_python_m_embedded_serves_it_against_the_simulator_only(aiohttp_client):
    args = argparse.Namespace(host="127.0.0.1", port=8080, sim_port=8081)
    with_simulator = build_demo(args, {})
    assert with_simulator.simulator_app is not None
    assert (await (await aiohttp_client(with_simulator.app)).get("/_gallery/")).status == 200
    real_org = {
        "OKTA_IDX_ISSUER": "https://example.okta.com/oauth2/default",
        "OKTA_IDX_CLIENTID": "0oa1",
        "OKTA_IDX_CLIENTSECRET": "s",
        "OKTA_IDX_REDIRECTURI": "http://127.0.0.1:8080/login/callback",
    }
    configured = build_demo(args, real_org)
    assert configured.simulator_app is None
    assert (await (await aiohttp_client(configured.app)).get("/_gallery/")).status == 404
