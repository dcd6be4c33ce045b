"""Pages in seventeen languages: the catalogues (complete, ours, parameters kept), the fallbacks
(English, never a raw key), negotiation (Accept-Language, Chinese by script, ?lang= remembered in
the session), the compact language chooser, <html lang dir> on pages served by the app, and the
Identity Engine's own words in Japanese, Korean and Chinese through the simulator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import jinja2
import markupsafe
import pytest
from conftest import ROOT, demo_settings, doc, identify_and_password, own, own_corpus, post_step, serve

from embedded import flow, locales, rendering
from embedded.idx_models import Message, parse
from embedded.simulator import translations
from embedded.urls import Urls
from embedded.web import respond

MESSAGES = ROOT / "templates" / "messages"
CODES = locales.CODES
OTHERS = [c for c in CODES if c != "en"]
SHARED_IDX = ROOT.parent / "shared" / "idx-fixtures"


def catalogue(code: str) -> dict[str, str]:
    return json.loads((MESSAGES / f"{code}.json").read_text(encoding="utf-8"))


EN = catalogue("en")


def escape(text: str) -> str:
    """As the pages print it (Jinja's autoescape)."""
    return str(markupsafe.escape(text))


def placeholders(text: str) -> list[str]:
    return sorted(set(re.findall(r"\{[^{}]*\}", text)))


# --- the catalogues ---------------------------------------------------------------------------


def test_there_is_one_catalogue_per_language_and_no_other():
    assert sorted(p.stem for p in MESSAGES.glob("*.json")) == sorted(CODES)


@pytest.mark.parametrize("code", OTHERS)
def test_every_english_key_is_in_every_catalogue_and_nothing_else(code):
    table = catalogue(code)
    assert sorted(set(EN) - set(table)) == []  # missing
    assert sorted(set(table) - set(EN)) == []  # extra
    assert all(isinstance(v, str) and v.strip() for v in table.values())


@pytest.mark.parametrize("code", OTHERS)
def test_translations_keep_the_parameters_of_the_english_text(code):
    table = catalogue(code)
    assert {
        k: (placeholders(EN[k]), placeholders(v)) for k, v in table.items() if placeholders(EN[k]) != placeholders(v)
    } == {}
    # Only {0}-style positional parameters: filled one way, by ui(key, *params).
    assert [k for k, v in table.items() for p in placeholders(v) if not re.fullmatch(r"\{\d+\}", p)] == []


# A value may read as in English only when it is a name or an acronym every language keeps, or a
# word the language itself spells the same way (Italian says "Password", German "Name").
SAME_EVERYWHERE = {"Duo Security", "SMS", "PIN"}
SAME_IN = {"de": {"Name", "Option {0}:"}, "pt-BR": {"QR code"}, "it": {"Password"}}


@pytest.mark.parametrize("code", OTHERS)
def test_catalogues_are_translated_not_copied(code):
    """Every value reads in the language: none is the English text but for the allow-lists above."""
    table = catalogue(code)
    allowed = SAME_EVERYWHERE | SAME_IN.get(code, set())
    assert {k: v for k, v in table.items() if v == EN[k] and v not in allowed} == {}


def test_the_allow_lists_are_short_and_each_entry_is_used():
    used = {v for code in OTHERS for k, v in catalogue(code).items() if v == EN[k]}
    assert SAME_EVERYWHERE | set().union(*SAME_IN.values()) <= used  # no stale entry
    assert len(SAME_EVERYWHERE) + sum(map(len, SAME_IN.values())) <= 8


def test_seventeen_languages_each_named_in_itself():
    assert len(CODES) == 17 and len(set(CODES)) == 17
    assert {"zh-CN", "zh-TW", "ko", "it", "nl", "pl", "ru", "tr", "sv", "id"} <= set(CODES)
    names = {lang.code: lang.name for lang in locales.LANGUAGES}
    assert names["zh-CN"] == "简体中文" and names["zh-TW"] == "繁體中文" and names["ko"] == "한국어"
    assert len(set(names.values())) == 17


def i18n_keys(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        i18n = node.get("i18n")
        if isinstance(i18n, dict) and isinstance(i18n.get("key"), str):
            found.add(i18n["key"])
        for v in node.values():
            i18n_keys(v, found)
    elif isinstance(node, list):
        for v in node:
            i18n_keys(v, found)
    return found


def corpus_files() -> list[Path]:
    files = sorted((ROOT / "tests" / "fixtures").rglob("*.json"))
    if SHARED_IDX.is_dir():
        files += sorted(SHARED_IDX.rglob("*.json"))
    return files


def test_every_i18n_key_of_the_fixture_corpus_has_an_english_text():
    keys: set[str] = set()
    for path in corpus_files():
        i18n_keys(json.loads(path.read_text(encoding="utf-8")), keys)
    assert len(keys) >= 10
    assert sorted(k for k in keys if k not in EN) == []


# --- texts: fallbacks and parameters ----------------------------------------------------------


@pytest.fixture
def two_languages(tmp_path) -> list[Path]:
    """A message directory where French lacks a key English has."""
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "en.json").write_text(
        json.dumps({"greet": "Hello {0}", "only.english": "Only in English {0}", "code.bad": "Wrong code"})
    )
    (tmp_path / "messages" / "fr.json").write_text(json.dumps({"greet": "Bonjour {0}", "code.bad": "Code erroné"}))
    return [tmp_path]


def test_a_key_missing_in_a_language_falls_back_to_english(two_languages):
    fr = rendering.Texts(two_languages, "fr")
    assert fr.ui("greet", "Ana") == "Bonjour Ana"
    assert fr.ui("only.english", 3) == "Only in English 3"
    assert fr.ui_any("nothing.here", "only.english") == "Only in English {0}"
    assert fr.message(Message(text="", key="only.english", params=("x",))) == "Only in English x"
    assert fr.missing == set()


def test_a_key_no_language_has_never_shows_as_a_key(two_languages):
    fr = rendering.Texts(two_languages, "fr")
    shown = fr.ui("title.some-new-remediation")
    assert shown == "Some new remediation" and "." not in shown
    assert fr.missing == {"title.some-new-remediation"}
    assert fr.ui_any("a.b", "c.d", default="From the form") == "From the form"


def test_identity_engine_messages_by_key_and_by_language(two_languages):
    wrong = Message(text="Invalid code. Try again.", key="code.bad")
    unknown = Message(text="Something the Identity Engine says", key="never.seen")
    en, fr = rendering.Texts(two_languages), rendering.Texts(two_languages, "fr")
    assert fr.message(wrong) == "Code erroné"  # ours, in the page's language
    assert fr.message(unknown) == "Something the Identity Engine says"  # no text of ours: its own
    assert en.message(wrong) == "Invalid code. Try again."  # English: its own words first
    assert en.message(Message(text="", key="code.bad")) == "Wrong code"  # ... ours when it sent none


def test_parameters_are_filled_one_way_only():
    assert rendering.fill("Be at least {0} characters, not {1}", (8, "x")) == "Be at least 8 characters, not x"
    assert rendering.fill("{0.__class__} {name} {1}", ("a",)) == "{0.__class__} {name} {1}"  # nothing else is special
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert 'replace("{' not in source and ".format(" not in source, path


@pytest.mark.parametrize("code", CODES)
def test_every_language_fills_parameters(code):
    texts = rendering.Catalogue([rendering.TEMPLATES_DIR]).texts(code)
    rule = texts.ui("password.rule.minLength", 12)
    assert "12" in rule and "{" not in rule
    assert (
        texts.message(Message(text="", key="idx.unknown.user", params=("ana@example.com",))).count("ana@example.com")
        == 1
    )


# --- negotiation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CA,fr;q=0.9", "fr"),
        ("de;q=0.5, ja;q=0.8", "ja"),
        ("pt-PT,pt;q=0.9,en;q=0.5", "pt-BR"),
        ("pt-br", "pt-BR"),
        ("ar-EG", "ar"),
        ("EN-gb", "en"),
        ("es-419, en;q=0.1", "es"),
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("ko-KR,ko;q=0.9,en;q=0.5", "ko"),
        ("nl-BE", "nl"),
        ("sv-FI, fi;q=0.9", "sv"),
        ("fi-FI, uk;q=0.9, tr;q=0.1", "tr"),
        ("fr;q=0, de", "de"),
        ("*", "en"),
        ("zz, fr;q=0.2", "fr"),
        ("", "en"),
        (None, "en"),
        ("fr;q=2, ;;;, de;q=abc", "en"),
        ("x" * 5000 + ",fr", "en"),
    ],
)
def test_accept_language_negotiation(header, expected):
    assert locales.negotiate(header) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-Hant", "zh-TW"),
        ("zh-TW", "zh-TW"),
        ("zh-HK", "zh-TW"),
        ("zh-MO", "zh-TW"),
        ("ZH-hant-hk", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
        ("zh-hant-CN", "zh-TW"),  # the script says Traditional, whatever the region
        ("zh-yue-HK", "zh-TW"),  # Cantonese in Hong Kong (an extended language subtag)
        ("zh-Hans", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh", "zh-CN"),
        ("ZH", "zh-CN"),
        ("zh-Hans-HK", "zh-CN"),  # Simplified written in Hong Kong: the script wins
        ("zh-Hans-SG", "zh-CN"),
        ("zh-cmn-Hans-CN", "zh-CN"),
        ("zh-Latn-pinyin", "zh-CN"),
    ],
)
def test_chinese_is_chosen_by_script_then_region(tag, expected):
    assert locales.match(tag) == expected
    assert locales.negotiate(f"{tag}, en;q=0.5") == expected
    assert locales.choose(tag, None, "en") == expected


def test_an_underscore_tag_is_read_as_asked_but_is_no_accept_language_range():
    """?lang=zh_TW and --lang zh_TW (a POSIX locale's spelling) are understood; a browser never
    sends one, and a malformed range is skipped."""
    assert locales.match("zh_TW") == "zh-TW" and locales.match("pt_br") == "pt-BR"
    assert locales.negotiate("zh_TW, de;q=0.5") == "de"


def test_a_chinese_browser_that_prefers_another_language_first_gets_it():
    assert locales.negotiate("ja;q=0.9, zh-TW;q=0.8") == "ja"
    assert locales.negotiate("zh-HK;q=0.4, zh-CN;q=0.6") == "zh-CN"
    assert locales.negotiate("x-klingon, zh-MO") == "zh-TW"


def test_an_explicit_choice_beats_the_remembered_one_and_the_browser():
    assert locales.choose("ja", "de", "fr") == "ja"
    assert locales.choose(None, "de", "fr") == "de"
    assert locales.choose("xx", None, "fr;q=0.5, es") == "es"
    assert locales.choose("xx", "yy", None) == "en"
    assert [lang.direction for lang in locales.LANGUAGES if lang.rtl] == ["rtl"] and locales.language(
        "ar"
    ).direction == "rtl"


# --- every page of the corpus in every language ---------------------------------------------------


def documents() -> list[tuple[str, dict]]:
    """Every Ion document of the own corpus, and of Okta's widget fixtures when they are beside this clone."""
    found = [(name, body) for name, body in own_corpus() if isinstance(body, dict) and "version" in body]
    for path in sorted((ROOT / "tests" / "fixtures" / "idx").glob("*.json")) + sorted(SHARED_IDX.rglob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body, dict) and isinstance(body.get("version"), str):
            found.append((path.name, body))
    return found


@pytest.mark.parametrize("code", CODES)
def test_every_corpus_document_renders_in_every_language_with_no_missing_key(code):
    dirs = [rendering.TEMPLATES_DIR]
    env = rendering.configure(jinja2.Environment(loader=rendering.loader(dirs), autoescape=True), dirs, Urls(base=""))
    rendered = 0
    for name, body in documents():
        response = parse(body)
        names, context = rendering.step_context(response, flow.decide(response), version=1)
        html = rendering.render(
            env, names, {**context, "csrf_token": "t", "csp_nonce": "n", "notices": []}, locale=code
        )
        assert f'<html lang="{code}" dir="{locales.language(code).direction}">' in html, name
        rendered += 1
    assert rendered > 100
    assert env.globals["catalogue"].texts(code).missing == set()


# --- pages served by the app -----------------------------------------------------------------------


def chooser_summary(html: str) -> tuple[str, str]:
    """The compact chooser's summary: (its label for screen readers, the language it shows)."""
    m = re.search(
        r'<summary class="languages__current"><svg [^>]*aria-hidden="true"[^>]*>.*?</svg>'
        r'<span class="visually-hidden">([^<]*): </span>([^<]*)</summary>',
        html,
        re.S,
    )
    assert m, html[:600]
    return unescape(m.group(1)), unescape(m.group(2))


def html_attributes(html: str) -> tuple[str, str]:
    m = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', html)
    assert m, html[:300]
    return m.group(1), m.group(2)


def heading(html: str) -> str:
    m = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert m
    return unescape(" ".join(m.group(1).split()))


async def sign_in_page(client, org, **kwargs) -> str:
    org.idx("/idp/idx/introspect", doc("identify"))
    resp = await client.get("/login", allow_redirects=False)
    assert resp.status == 303
    page = await client.get("/login/step", **kwargs)
    assert page.status == 200
    return await page.text()


@pytest.mark.parametrize("code", CODES)
async def test_the_sign_in_page_in_each_language(client, org, code):
    html = await sign_in_page(client, org, params={"lang": code})
    texts = catalogue(code)
    assert html_attributes(html) == (code, "rtl" if code == "ar" else "ltr")
    assert heading(html) == texts["title.identify"]
    assert re.search(
        r'<button type="submit" class="button button--primary">'
        + re.escape(escape(texts["submit.identify"]))
        + "</button>",
        html,
    )
    assert f"<title>{escape(texts['title.identify'])} · {escape(texts['app.title'])}</title>" in html
    # The switch: every language, named in itself, linked with ?lang=, this one marked current.
    for lang in locales.LANGUAGES:
        assert (
            f'href="/login/step?lang={lang.code}" hreflang="{lang.code}" lang="{lang.code}"'
            + (' aria-current="true"' if lang.code == code else "")
            + f'><span dir="{lang.direction}">{escape(lang.name)}</span></a>'
        ) in html
    assert re.search(rf'hreflang="{re.escape(code)}"[^>]*aria-current="true">', html)
    assert f'aria-label="{escape(texts["language.switch"])}"' in html
    assert chooser_summary(html) == (texts["language.switch"], locales.language(code).name)
    # The Identity Engine's own labels for well-known fields read in the language too.
    assert re.search(
        r'<label for="[^"]+" class="label--required">' + re.escape(escape(texts["field.username"])) + "</label>", html
    )
    assert (">Username<" in html) == (code == "en")


def test_known_identity_engine_labels_are_translated_and_others_kept():
    fr, en = (
        rendering.Catalogue([rendering.TEMPLATES_DIR]).texts("fr"),
        rendering.Catalogue([rendering.TEMPLATES_DIR]).texts("en"),
    )
    assert fr.label("Keep me signed in") == "Rester connecté" and fr.label("keep me  signed in") == "Rester connecté"
    assert fr.label("Favourite colour") == "Favourite colour"  # an org's own attribute
    assert fr.label("Nom d'utilisateur") == "Nom d'utilisateur"  # already translated by the Identity Engine
    assert en.label("Keep me signed in") == "Keep me signed in" and fr.label(None) == ""
    assert (
        rendering.label_key("Security Key or Biometric Authenticator (FIDO2)")
        == "field.security_key_or_biometric_authenticator_fido2"
    )


@pytest.mark.parametrize("code", OTHERS)
async def test_accept_language_alone_picks_the_language(client, org, code):
    html = await sign_in_page(client, org, headers={"Accept-Language": f"{code};q=0.9, en;q=0.5"})
    assert html_attributes(html)[0] == code and heading(html) == catalogue(code)["title.identify"]


async def test_a_canadian_french_browser_gets_french(client, org):
    html = await sign_in_page(client, org, headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    assert html_attributes(html) == ("fr", "ltr") and heading(html) == "Se connecter"


async def test_an_unknown_language_gets_english(client, org):
    html = await sign_in_page(client, org, headers={"Accept-Language": "fi-FI,fi;q=0.9,uk;q=0.8"})
    assert html_attributes(html) == ("en", "ltr") and heading(html) == "Sign in"
    html = await (await client.get("/login/step", params={"lang": "tlh"})).text()
    assert html_attributes(html) == ("en", "ltr")


async def test_the_chosen_language_is_remembered_across_requests(client, org):
    html = await sign_in_page(client, org, params={"lang": "de"}, headers={"Accept-Language": "fr"})
    assert html_attributes(html)[0] == "de"
    # Later pages, without ?lang=: the choice in the session beats the browser's preference.
    for path in ("/login/step", "/", "/logout", "/no-such-page"):
        resp = await client.get(path, headers={"Accept-Language": "fr"})
        assert html_attributes(await resp.text())[0] == "de", path
    html = await (await client.get("/login/step", params={"lang": "ar"})).text()
    assert html_attributes(html) == ("ar", "rtl")
    assert html_attributes(await (await client.get("/")).text()) == ("ar", "rtl")


async def test_only_an_explicit_choice_creates_a_session(client):
    resp = await client.get("/", headers={"Accept-Language": "ja"})
    assert html_attributes(await resp.text())[0] == "ja" and "Set-Cookie" not in resp.headers
    resp = await client.get("/", params={"lang": "unknown"})
    assert "Set-Cookie" not in resp.headers
    resp = await client.get("/", params={"lang": "es"})
    assert html_attributes(await resp.text())[0] == "es" and "Set-Cookie" in resp.headers
    assert html_attributes(await (await client.get("/")).text())[0] == "es"


async def test_the_chooser_is_one_disclosure_that_needs_no_script_or_inline_style(client):
    """One <details> in the header: its summary names the current language, its menu holds every
    language's link; nothing in the header is a script or a style attribute (the CSP allows
    neither, checklist item 14)."""
    resp = await client.get("/", params={"lang": "ko"})
    html = await resp.text()
    header = re.search(r'<header class="brand">(.*?)</header>', html, re.S).group(1)
    assert header.count("<details") == 1 and header.count("<summary") == 1 and header.count("<a ") == 18  # + home
    assert re.search(r'<details class="languages__chooser">\s*<summary', header)
    assert re.findall(r'<a class="languages__option"', header) == ['<a class="languages__option"'] * 17
    assert "<script" not in header and "style=" not in header and not re.search(r"\son\w+=", header)
    assert chooser_summary(html) == ("언어", "한국어")
    csp = resp.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "style-src 'self'" in csp


async def test_a_tag_asked_with_lang_is_read_like_the_browsers_and_remembered(client, org):
    html = await sign_in_page(client, org, params={"lang": "zh-Hant-HK"}, headers={"Accept-Language": "fr"})
    assert html_attributes(html) == ("zh-TW", "ltr") and heading(html) == catalogue("zh-TW")["title.identify"]
    assert chooser_summary(html)[1] == "繁體中文"
    html = await (await client.get("/", headers={"Accept-Language": "zh-CN"})).text()
    assert html_attributes(html)[0] == "zh-TW"  # the choice, not the browser
    html = await (await client.get("/", params={"lang": "zh"})).text()
    assert html_attributes(html)[0] == "zh-CN" and chooser_summary(html)[1] == "简体中文"


async def test_the_switch_links_to_this_page_on_this_site(client):
    html = await (await client.get("/login/nothing-here", params={"other": "dropped"})).text()
    assert 'href="/login/nothing-here?lang=fr"' in html and "dropped" not in html
    # A path that would read as another host's address (//host/...) becomes a path on this one.
    links = respond.language_links(SimpleNamespace(rel_url=SimpleNamespace(raw_path="//evil.example/x")))  # type: ignore[arg-type]
    assert [link.href for link in links][:2] == ["/evil.example/x?lang=en", "/evil.example/x?lang=fr"]


async def test_error_pages_speak_the_language_too(client):
    resp = await client.get("/login/nothing-here", headers={"Accept-Language": "ja"})
    html = await resp.text()
    assert (
        resp.status == 404 and html_attributes(html)[0] == "ja" and heading(html) == catalogue("ja")["error.http_404"]
    )
    html = await (await client.get("/login/nothing-here", params={"lang": "ar"})).text()
    assert html_attributes(html) == ("ar", "rtl") and escape(catalogue("ar")["error.http_404.detail"]) in html


async def test_identity_engine_messages_are_translated(client, org):
    """A wrong password, in French: our text for the IDX key, not the Identity Engine's English."""
    html = await identify_and_password(client, org, await sign_in_page(client, org, params={"lang": "fr"}))
    org.idx("/idp/idx/challenge/answer", own("error-challenge-password-incorrect.json"), status=401)
    await post_step(client, html, {"credentials.passcode": "wrong"})
    html = await (await client.get("/login/step")).text()
    assert escape(catalogue("fr")["incorrectPassword"]) in html and "Password is incorrect" not in html


def test_the_stylesheet_works_right_to_left():
    """Spacing, borders and positions use logical properties, so <html dir="rtl"> mirrors the page."""
    css = (ROOT / "static" / "css" / "embedded.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right)\b|(?<![-\w])(?:left|right)\s*:|text-align:\s*(?:left|right)|float:\s*(?:left|right)",
        css,
    )
    assert physical == []


async def test_the_chosen_language_survives_signing_in(client, org):
    html = await identify_and_password(client, org, await sign_in_page(client, org, params={"lang": "ja"}))
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    assert (await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})).status == 303
    assert html_attributes(await (await client.get("/", headers={"Accept-Language": "en"})).text())[0] == "ja"


def test_negotiation_is_pure():
    """embedded.locales imports no web framework (like the rest of the pure core)."""
    code = (
        "import sys, embedded.locales; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'aiohttp_session', 'jinja2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_login_with_a_language_remembers_it_before_the_first_page(client, org):
    org.idx("/idp/idx/introspect", doc("identify"))
    resp = await client.get("/login", params={"lang": "de"}, allow_redirects=False)
    assert resp.status == 303
    page = await (await client.get(resp.headers["Location"], headers={"Accept-Language": "en"})).text()
    assert html_attributes(page)[0] == "de"


# --- the Identity Engine's own words: the simulator in Japanese, Korean and Chinese ----------------


@pytest.mark.parametrize(
    ("browser", "code", "said", "username"),
    [
        ("ja-JP,ja;q=0.9,en;q=0.5", "ja", "パスワードが正しくありません", "ユーザー名"),
        ("ko-KR,ko;q=0.9", "ko", "비밀번호가 올바르지 않습니다", "사용자 이름"),
        ("zh-CN,zh;q=0.9", "zh-CN", "密码不正确", "用户名"),
        ("zh-HK,zh;q=0.9,en;q=0.8", "zh-TW", "密碼不正確", "使用者名稱"),
    ],
)
async def test_the_identity_engine_answers_in_japanese_korean_and_chinese(
    aiohttp_client, listened, browser, code, said, username
):
    """alice's wrong password through the app: every IDX call carries the page's language (a Hong
    Kong browser's is zh-TW), the simulator words its message and labels in it, and the page
    shows our text for the message's key in the same language."""
    app = await serve(aiohttp_client, demo_settings(listened.port))
    app.session.headers["Accept-Language"] = browser
    html = await (await app.get("/login")).text()
    assert html_attributes(html)[0] == code
    identify = listened.heard[-1][2]["remediation"]["value"][0]
    assert identify["value"][0]["label"] == username
    resp = await post_step(app, html, {"identifier": "alice@example.com"})
    html = await (await app.get(resp.headers["Location"])).text()
    resp = await post_step(app, html, {"credentials.passcode": "not-her-password"})
    html = await (await app.get(resp.headers["Location"])).text()
    assert {language for _, language, _ in listened.heard} == {code}
    path, _, reply = listened.heard[-1]
    assert path == "/idp/idx/challenge/answer"
    assert [(m["i18n"]["key"], m["message"]) for m in reply["messages"]["value"]] == [("incorrectPassword", said)]
    assert html_attributes(html)[0] == code and escape(catalogue(code)["incorrectPassword"]) in html
    assert "Password is incorrect" not in html


async def test_the_identity_engine_fills_parameters_in_chinese(aiohttp_client, listened):
    """An unknown user in Traditional Chinese: the simulator's field error names the username."""
    app = await serve(aiohttp_client, demo_settings(listened.port))
    html = await (await app.get("/login", params={"lang": "zh-TW"})).text()
    await post_step(app, html, {"identifier": "nobody@example.com"})
    messages = [m["message"] for m in listened.heard[-1][2].get("messages", {}).get("value", [])]
    assert messages == ["沒有使用者名稱為 nobody@example.com 的帳戶。"] and listened.heard[-1][1] == "zh-TW"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja", "ja"),
        ("ko-KR", "ko"),
        ("zh", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh-Hans-HK", "zh-CN"),
        ("zh-Hant", "zh-TW"),
        ("zh-Hant-HK", "zh-TW"),
        ("ZH-mo", "zh-TW"),
        ("en, ja", None),
        ("fi, ko;q=0.5", "ko"),
        ("zh-TW;q=0", None),
    ],
)
def test_the_simulator_reads_chinese_as_the_app_does(header, expected):
    assert translations.language(header) == expected
    if expected is not None:
        assert expected == locales.negotiate(header)  # the same language the app would show


def test_the_simulator_has_every_message_and_label_in_its_new_languages():
    for lang in ("ja", "ko", "zh-CN", "zh-TW"):
        assert set(translations.MESSAGES[lang]) == set(translations.MESSAGES["fr"]), lang
        assert set(translations.LABELS[lang]) == set(translations.LABELS["fr"]), lang
        for name, text in translations.MESSAGES[lang].items():
            assert placeholders(text) == placeholders(translations.MESSAGES["fr"][name]), (lang, name)
            # In the language's own script: no English word left but the product names.
            assert not re.search(r"[A-Za-z]{3,}", re.sub(r"Duo|WebAuthn|CAPTCHA|SMS|ID", "", text)), (lang, name)
