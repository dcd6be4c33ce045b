"""Themes (docs/theming.md): a chain of theme directories, child first, then the built-in files,
for templates, messages and static files; the per-kind control templates and what every control
carries for accessibility; the sign-in page's layout; the settings; and the Jinja environment
built once and warm."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from conftest import RECORDED, ROOT, doc, serve, start

from embedded import Settings, flow, rendering, setup, themes
from embedded.config import SettingsError
from embedded.idx_models import parse
from embedded.keys import TEMPLATES

HARBOR = ROOT / "examples" / "themes" / "harbor"
BUILT_IN_LOGO = (rendering.STATIC_DIR / "img" / "logo.svg").read_text()


def page_html(name: str, theme_dirs=(), lang: str = "en", **extra) -> str:
    """The page the app shows for a corpus document, rendered with these themes."""
    response = parse(doc(name))
    names, context = rendering.step_context(response, flow.decide(response), version=1)
    env = rendering.create_env(theme_dirs)
    return rendering.render(
        env, names, {**context, "csrf_token": "t", "csp_nonce": "n", "notices": [], **extra}, locale=lang
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def chain(tmp_path):
    """A child theme and its parent, each with files of its own and one file both have."""
    child, parent = tmp_path / "child", tmp_path / "parent"
    write(child / "controls" / "checkbox.html", '<p data-from="child-checkbox">{{ c.name }}</p>')
    write(parent / "controls" / "checkbox.html", '<p data-from="parent-checkbox">{{ c.name }}</p>')
    write(parent / "controls" / "text.html", '<p data-from="parent-text">{{ c.name }}</p>')
    write(child / "messages" / "en.json", json.dumps({"submit.identify": "Child goes"}))
    write(parent / "messages" / "en.json", json.dumps({"submit.identify": "Parent goes", "identify.or": "or else"}))
    write(parent / "messages" / "fr.json", json.dumps({"identify.or": "ou bien"}))
    write(child / "static" / "img" / "logo.svg", "<svg data-from='child'/>")
    write(parent / "static" / "img" / "logo.svg", "<svg data-from='parent'/>")
    write(parent / "static" / "css" / "theme.css", ":root { --brand: #123456; }")
    return child, parent


# --- lookup order --------------------------------------------------------------------------


def test_templates_are_looked_up_child_first_then_parent_then_built_in(chain):
    child, parent = chain
    html = page_html("identify", [child, parent])
    assert 'data-from="child-checkbox">rememberMe' in html  # both themes have it: the child's
    assert "parent-checkbox" not in html
    assert 'data-from="parent-text">identifier' in html  # only the parent has it
    assert '<button type="submit" class="button button--primary">' in html  # the rest: built in
    assert "built-in" not in html and 'class="divider"' in html


def test_the_older_single_directory_spelling_is_a_chain_of_one(chain):
    child, _ = chain
    assert rendering.template_dirs(str(child)) == [child, rendering.TEMPLATES_DIR]
    assert rendering.template_dirs(None) == [rendering.TEMPLATES_DIR]
    assert "child-checkbox" in page_html("identify", str(child))


def test_messages_override_single_keys_child_first(chain):
    child, parent = chain
    html = page_html("identify", [child, parent])
    assert ">Child goes</button>" in html  # both word it: the child's
    assert "<span>or else</span>" in html  # only the parent words it
    assert "<h1>Sign in</h1>" in html  # neither: the built-in text
    french = page_html("identify", [child, parent], lang="fr")
    assert "<span>ou bien</span>" in french  # the parent's French
    built_in = rendering.catalogue((rendering.TEMPLATES_DIR,)).texts("fr")
    assert f"<h1>{built_in.text('title.identify')}</h1>" in french  # the rest in the built-in French


def test_static_dirs_are_the_themes_that_have_one_child_first(chain, tmp_path):
    child, parent = chain
    bare = tmp_path / "bare"
    bare.mkdir()
    assert rendering.static_dirs([child, bare, parent]) == [child / "static", parent / "static", rendering.STATIC_DIR]


def test_a_static_file_is_never_found_outside_its_root(chain, tmp_path):
    child, parent = chain
    roots = themes.static_dirs((child, parent))
    secret = write(tmp_path / "secret.txt", "secret")
    (child / "static" / "link.txt").symlink_to(secret)
    assert themes.static_file(roots, "img/logo.svg") == (child / "static" / "img" / "logo.svg").resolve()
    assert themes.static_file(roots, "css/theme.css") == (parent / "static" / "css" / "theme.css").resolve()
    for bad in (
        "../../secret.txt",
        "img/../../../secret.txt",
        str(secret),
        "link.txt",
        "img",
        "",
        "img\\logo.svg",
        "a\0b",
    ):
        assert themes.static_file(roots, bad) is None, bad


# --- through the app -----------------------------------------------------------------------


async def test_a_themes_static_files_are_served_before_the_built_in_ones(aiohttp_client, settings, chain):
    child, parent = chain
    client = await serve(aiohttp_client, dataclasses.replace(settings, theme_dirs=(str(child), str(parent))))
    logo = await client.get("/static/img/logo.svg")
    assert logo.status == 200 and await logo.text() == "<svg data-from='child'/>"
    assert logo.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in logo.headers
    assert "no-store" not in logo.headers.get("Cache-Control", "")  # cacheable, as the built-in files are
    theme_css = await client.get("/static/css/theme.css")
    assert await theme_css.text() == ":root { --brand: #123456; }"  # the parent's, the child has none
    base_css = await client.get("/static/css/embedded.css")
    assert base_css.status == 200 and '@import url("theme.css") layer(theme);' in await base_css.text()  # built in
    assert (await client.get("/static/js/poll.js")).status == 200


async def test_without_a_theme_the_built_in_logo_and_an_empty_theme_css_are_served(client):
    assert await (await client.get("/static/img/logo.svg")).text() == BUILT_IN_LOGO
    css = await (await client.get("/static/css/theme.css")).text()
    assert "{" not in css  # a comment only: no rules


@pytest.mark.parametrize(
    "path",
    [
        "/static/../embedded/config.py",
        "/static/%2e%2e/embedded/config.py",
        "/static/img/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/static//etc/passwd",
        "/static/img/../../secret.txt",
    ],
)
async def test_path_traversal_through_the_theme_static_route_is_refused(
    aiohttp_client, settings, chain, tmp_path, path
):
    child, parent = chain
    write(tmp_path / "secret.txt", "TOP-SECRET-CONTENT")
    client = await serve(aiohttp_client, dataclasses.replace(settings, theme_dirs=(str(child), str(parent))))
    resp = await client.get(path)
    assert resp.status in (403, 404)
    body = await resp.text()
    assert (
        "TOP-SECRET-CONTENT" not in body
        and "root:" not in body
        and "SettingsError" not in body
        and "Traceback" not in body
    )


async def test_setup_takes_theme_dirs_in_place_of_the_settings_own(chain, settings):
    child, parent = chain
    app = web.Application()
    setup(app, dataclasses.replace(settings, template_dir=str(parent)), prefix="", theme_dirs=[child])
    assert app[TEMPLATES].loader.searchpath == [str(child), str(rendering.TEMPLATES_DIR)]
    with pytest.raises(SettingsError, match="^theme_dirs: .*does not exist"):
        setup(web.Application(), settings, prefix="", theme_dirs=[child / "nowhere"])


async def test_the_example_theme_renders_through_the_app(aiohttp_client, settings, org):
    client = await serve(aiohttp_client, dataclasses.replace(settings, theme_dirs=(str(HARBOR),)))
    page = await start(client, org)
    assert "Harbor Credit Union" in page and 'role="switch"' in page
    assert 'class="field field--text' in page  # the text field is still the built-in one
    logo = await (await client.get("/static/img/logo.svg")).text()
    assert 'data-theme="harbor"' in logo


# --- settings ------------------------------------------------------------------------------

ENV = {
    "OKTA_IDX_ISSUER": "https://example.okta.com/oauth2/default",
    "OKTA_IDX_CLIENTID": "c",
    "OKTA_IDX_REDIRECTURI": "https://app.example/login/callback",
}


@pytest.mark.parametrize("separator", [":", ",", " , "])
def test_theme_dirs_are_read_from_the_environment_child_first(chain, separator):
    child, parent = chain
    s = Settings.from_env({**ENV, "EMBEDDED_THEME_DIRS": f"{child}{separator}{parent}"})
    assert s.theme_dirs == (str(child), str(parent)) == s.theme_chain


def test_the_older_template_dir_setting_still_works(chain):
    child, _ = chain
    s = Settings.from_env({**ENV, "EMBEDDED_TEMPLATE_DIR": str(child)})
    assert s.theme_dirs == () and s.theme_chain == (str(child),)


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"EMBEDDED_THEME_DIRS": "/no/such/theme"}, "EMBEDDED_THEME_DIRS: /no/such/theme does not exist"),
        ({"EMBEDDED_TEMPLATE_DIR": "/no/such/theme"}, "EMBEDDED_TEMPLATE_DIR: /no/such/theme does not exist"),
        ({"EMBEDDED_THEME_DIRS": "FILE"}, "is not a directory"),
        ({"EMBEDDED_THEME_DIRS": "CHILD", "EMBEDDED_TEMPLATE_DIR": "CHILD"}, "not both"),
        ({"EMBEDDED_TEMPLATE_RELOAD": "maybe"}, "EMBEDDED_TEMPLATE_RELOAD must be 1 or 0"),
    ],
)
def test_bad_theme_settings_are_refused_with_one_line(chain, tmp_path, environ, error):
    child, _ = chain
    file = write(tmp_path / "file.txt", "")
    environ = {k: v.replace("FILE", str(file)).replace("CHILD", str(child)) for k, v in environ.items()}
    with pytest.raises(SettingsError, match=re.escape(error)):
        Settings.from_env({**ENV, **environ})


def test_theme_dirs_given_as_paths_are_kept_as_strings(chain):
    child, parent = chain
    s = Settings(
        issuer=ENV["OKTA_IDX_ISSUER"],
        client_id="c",
        redirect_uri=ENV["OKTA_IDX_REDIRECTURI"],
        theme_dirs=[child, parent],
    )  # type: ignore[arg-type]
    assert s.theme_dirs == (str(child), str(parent))
    hash(s)


# --- the environment, built once -----------------------------------------------------------


def test_one_environment_per_theme_chain_and_mount_point(chain):
    child, parent = chain
    assert rendering.create_env([child, parent]) is rendering.create_env((str(child), str(parent)))
    assert rendering.create_env([child]) is not rendering.create_env([child, parent])
    assert rendering.create_env([], "/auth") is not rendering.create_env([])
    assert rendering.create_env().auto_reload is False
    assert rendering.create_env(reload=True).auto_reload is True


def test_templates_are_reread_only_when_reloading(tmp_path):
    theme = tmp_path / "theme"
    write(theme / "error.html", "first")
    fixed, reloading = rendering.create_env([theme]), rendering.create_env([theme], reload=True)
    assert fixed.get_template("error.html").render() == reloading.get_template("error.html").render() == "first"
    write(theme / "error.html", "second, longer")
    assert fixed.get_template("error.html").render() == "first"
    assert reloading.get_template("error.html").render() == "second, longer"


def test_warm_compiles_every_template_and_imports_the_macros(tmp_path):
    env = rendering.create_env([write(tmp_path / "t" / "x.html", "x").parent], "/warm-test")
    rendering.warm(env)
    names = [n for n in env.list_templates(extensions=["html"])]
    assert all((env.loader, n) in {(k[0](), k[1]) for k in env.cache} for n in names)  # type: ignore[union-attr]
    assert env.get_template("_macros/page.html")._module is not None  # made once, kept


def test_the_built_in_macro_files_and_layout_need_no_context():
    """`import ... with context` rebuilds the macro module on every render: none of ours does."""
    ours = [
        *sorted((rendering.TEMPLATES_DIR / "_macros").glob("*.html")),
        *sorted((rendering.TEMPLATES_DIR / "controls").glob("*.html")),
        rendering.TEMPLATES_DIR / "steps" / "_step.html",
        rendering.TEMPLATES_DIR / "steps" / "identify.html",
        rendering.TEMPLATES_DIR / "terminal.html",
    ]
    assert [p.name for p in ours if "with context" in p.read_text()] == []


# --- controls and accessibility ------------------------------------------------------------


def test_one_template_per_control_kind():
    controls = {p.name for p in (rendering.TEMPLATES_DIR / "controls").glob("*.html")}
    assert {
        "text.html",
        "password.html",
        "number.html",
        "checkbox.html",
        "radios.html",
        "select.html",
        "hidden.html",
        "message.html",
    } <= controls


def test_a_field_in_error_is_marked_described_summed_up_and_focused():
    response = parse(json.loads((RECORDED.directory / "registration-email-taken" / "03-enroll-new.json").read_text()))
    names, context = rendering.step_context(response, flow.decide(response), version=1)
    html = rendering.render(
        rendering.create_env(), names, {**context, "csrf_token": "t", "csp_nonce": "n", "notices": []}
    )
    field = re.search(r'<input[^>]*id="f-0-userProfile-email"[^>]*>', html)
    assert (
        field and 'aria-invalid="true"' in field.group(0) and "autofocus" in field.group(0)
    )  # the first field in error
    described = re.search(r'aria-describedby="([^"]+)"', field.group(0)).group(1).split()
    assert described == ["f-0-userProfile-email-messages"] and 'id="f-0-userProfile-email-messages"' in html
    # One field in error: said once, on the field (a summary only sums up two or more)
    assert 'class="error-summary"' not in html and html.count("already exists") == 1
    assert html.count("autofocus") == 1
    assert "aria-invalid" not in re.search(r'<input[^>]*id="f-0-userProfile-firstName"[^>]*>', html).group(0)


def test_the_sign_in_page_focuses_the_username_and_offers_other_ways_after_an_or():
    html = page_html("identify")
    assert re.search(r'<input[^>]*name="identifier"[^>]*autofocus', html)
    assert html.count("autofocus") == 1
    main, ways = html.split('class="ways"')
    assert "button--primary" in main and "Fake Social" not in main
    assert '<p class="divider"><span>or</span></p>' in ways
    assert re.search(r'class="button button--way">Sign in with Fake Social', ways)  # lighter than the primary button
    assert "button--primary" not in ways
    assert ">Cancel<" not in html  # the first page: Cancel would only reload it
    assert re.search(r'class="button button--link">Sign up', html)


def test_forgot_password_comes_before_cancel():
    html = page_html("challenge-password")
    assert html.index("Forgot password?") < html.index(">Cancel<")
    first_page = page_html("identify-with-password")
    assert "Forgot password?" in first_page and ">Cancel<" not in first_page


def test_recovery_keeps_cancel_and_leaves_out_the_ways_to_sign_in():
    html = page_html("identify", journey="recover")
    assert ">Cancel<" in html and 'class="ways"' not in html


def test_identify_and_terminal_pages_use_the_step_layout():
    for template in ("steps/identify.html", "terminal.html"):
        assert (rendering.TEMPLATES_DIR / template).read_text().startswith('{% extends "steps/_step.html" %}')
    assert '<div class="step">' in page_html("identify") and '<div class="step">' in page_html("unlock-done")


def test_the_submit_area_leaves_room_for_a_captcha():
    """The CAPTCHA agent's contract: its control goes just before the primary form's button."""
    form = (rendering.TEMPLATES_DIR / "_macros" / "page.html").read_text()
    assert '{% if page.captcha %}{% include "controls/captcha.html" %}{% endif %}' in form
    assert form.index('{% include "controls/captcha.html" %}') < form.index(
        '<button type="submit" class="button {{ css }}">'
    )


def test_a_theme_overrides_one_control_and_no_other(tmp_path):
    theme = tmp_path / "theme"
    write(theme / "controls" / "text.html", '<p class="my-text">{{ c.name }}</p>')
    html = page_html("identify", [theme])
    assert '<p class="my-text">identifier</p>' in html
    assert 'type="checkbox"' in html  # the checkbox is still the built-in one


def test_the_language_menu_is_a_template_of_its_own_drawn_once_per_language_and_path(tmp_path):
    """`_macros/languages.html` is kept per language and path (docs/theming.md): the next page at
    that path, whatever else it shows, gets the same menu; another language or path gets its own,
    and the menu never sees the page's values (the page's CSRF token here)."""
    theme = tmp_path / "theme"
    write(
        theme / "_macros" / "languages.html",
        "{% macro menu(lang, dir, languages) %}"
        '<nav data-menu="{{ lang }}|{{ languages[1].href }}|{{ page_var("csrf_token", "none") }}"></nav>'
        "{% endmacro %}",
    )
    here = rendering.locales.switch("/login/step")
    first = page_html("identify", [theme], languages=here)
    assert 'data-menu="en|/login/step?lang=fr|none"' in first
    assert 'data-menu="en|/login/step?lang=fr|none"' in page_html("identify-with-password", [theme], languages=here)
    assert 'data-menu="fr|/login/step?lang=fr|none"' in page_html("identify", [theme], lang="fr", languages=here)
    there = rendering.locales.switch("/x")
    assert 'data-menu="en|/x?lang=fr|none"' in page_html("identify", [theme], languages=there)
    # A list (a host's own, the gallery's) is drawn each time.
    assert 'data-menu="en|/y?lang=fr|none"' in page_html(
        "identify", [theme], languages=list(rendering.locales.switch("/y"))
    )


async def test_a_broken_theme_template_stops_the_start_with_one_line(aiohttp_client, settings, tmp_path):
    theme = tmp_path / "theme"
    write(theme / "controls" / "text.html", "{% if c.name %}never closed")
    with pytest.raises(SettingsError, match=r"controls/text.html, line 1: Unexpected end of template"):
        await serve(aiohttp_client, dataclasses.replace(settings, theme_dirs=(str(theme),)))


# --- custom properties ---------------------------------------------------------------------

BUILT_IN_CSS = rendering.STATIC_DIR / "css" / "embedded.css"
# Text colours and what they sit on: 4.5:1 at least (WCAG 2.1 AA, 1.4.3).
TEXT_ON = [
    ("--text", "--surface"),
    ("--text", "--page"),
    ("--muted", "--surface"),
    ("--muted", "--page"),
    ("--brand", "--surface"),
    ("--brand", "--page"),
    ("--brand-contrast", "--brand"),
    ("--danger", "--surface"),
    ("--danger", "--danger-surface"),
    ("--text", "--info-surface"),
    ("--muted", "--info-surface"),
    ("--text", "--warning-surface"),
]


def custom_properties(css: str) -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S), re.S).group(1)
    return dict(re.findall(r"(--[a-z-]+):\s*([^;]+);", root))


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        h = colour.lstrip("#")
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        linear = [
            (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
            for c in (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_custom_property_is_in_the_theming_table():
    table = (ROOT / "docs" / "theming.md").read_text()
    assert [p for p in custom_properties(BUILT_IN_CSS.read_text()) if f"| `{p}` |" not in table] == []


@pytest.mark.parametrize("theme", [None, HARBOR], ids=["built-in", "harbor"])
def test_text_colours_keep_a_contrast_of_4_5_to_1(theme):
    colours = custom_properties(BUILT_IN_CSS.read_text())
    if theme is not None:
        colours |= custom_properties((theme / "static" / "css" / "theme.css").read_text())
    low = {
        f"{text} on {ground}": round(contrast(colours[text], colours[ground]), 2)
        for text, ground in TEXT_ON
        if contrast(colours[text], colours[ground]) < 4.5
    }
    assert low == {}


def test_the_render_bench_prints_cpu_per_page_with_and_without_a_theme():
    for extra in ([], ["--theme", str(HARBOR)]):
        done = subprocess.run(
            [sys.executable, "bench/render_cpu.py", "--renders", "5", "--repeat", "1", *extra],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        figures = dict(re.findall(r"^\s+(identify|password|terminal)\s+([0-9.]+) ms", done.stdout, re.M))
        assert set(figures) == {"identify", "password", "terminal"} and all(float(ms) > 0 for ms in figures.values())
