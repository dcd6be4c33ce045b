"""Templates and texts: the Jinja environment shared by the app and `python -m embedded render`.

Templates are looked up in the theme directories first (child first, when configured), then in
the built-in `templates/`. Texts come from `messages/<lang>.json` in the same directories (one
per language of `locales.LANGUAGES`), keyed by IDX i18n keys and UI keys; a key missing in a
language falls back to English, and an IDX message we have no text for keeps the
Identity Engine's own text.

An environment is built once per process for each theme chain and mount point, its templates
compiled and its macro files imported once (`warm`); templates are checked on disk again only
when asked (`reload`, development). What changes per page (its texts, CSRF token, step) reaches
macros through context variables, so macro files are imported without context and cached.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import flow, locales, themes
from .forms import Control, FormView, humanize
from .idx_models import IdxResponse, Message
from .page import build_page
from .page_cache import PageCache
from .urls import Urls

HERE = Path(__file__).resolve().parent


def _packaged(name: str) -> Path:
    # A source checkout keeps templates/ and static/ beside the package; an installed
    # wheel carries them inside it.
    inside = HERE / name
    return inside if inside.is_dir() else HERE.parent / name


TEMPLATES_DIR = _packaged("templates")
STATIC_DIR = _packaged("static")
MACROS = "_macros/"
LANGUAGE_MENU = MACROS + "languages.html"


def template_dirs(theme_dirs: Sequence[str | Path] | str | None = ()) -> list[Path]:
    """Where templates and messages are looked up: the themes, child first, then the built-in ones."""
    return [*themes.chain(theme_dirs), TEMPLATES_DIR]


def static_dirs(theme_dirs: Sequence[str | Path] | str | None = ()) -> list[Path]:
    """Where static files are looked up: the themes' `static/`, child first, then the built-in one."""
    return [*themes.static_dirs(themes.chain(theme_dirs)), STATIC_DIR]


# What rendering an odd but parseable IDX response can raise (a template met a wrong type): a step
# page then falls back on the generic template, in the app and in the gallery alike.
MALFORMED = (jinja2.TemplateError, TypeError, AttributeError, ValueError, KeyError, IndexError)

PARAM = re.compile(r"\{(\d+)\}")


def fill(template: str, params: Sequence[Any]) -> str:
    """`{0}`, `{1}`, ... replaced by the parameters, the one way texts take them; a placeholder
    with no parameter stays as written, and nothing else in a text is special."""
    if not params:  # most texts: nothing to fill
        return template
    return PARAM.sub(lambda m: str(params[int(m.group(1))]) if int(m.group(1)) < len(params) else m.group(0), template)


def label_key(text: str) -> str:
    """The catalogue key of an Identity Engine label: `field.` and its words, lowercased and
    joined by `_` ("Keep me signed in" -> "field.keep_me_signed_in")."""
    return "field." + "_".join(re.findall(r"[a-z0-9]+", text.lower()))


def read_messages(dirs: list[Path], lang: str) -> dict[str, str]:
    """messages/<lang>.json of every directory, the first directory's keys winning."""
    table: dict[str, str] = {}
    for d in reversed(dirs):
        path = d / "messages" / f"{lang}.json"
        if path.is_file():
            table.update(json.loads(path.read_text(encoding="utf-8")))
    return table


# Keys whose English text is ours even where the Identity Engine sends its own: Okta's
# "Authenticator" is jargon, its unmet-rules message is worded as ours around its rule list, and
# a required field left empty reads the same whether Okta named it (the first) or the page did.
OUR_ENGLISH = frozenset({"field.authenticator", "password.passwordRequirementsNotMet", "model.validation.field.blank"})
# Messages whose first parameter is the rule list the Identity Engine states: whatever our text
# says, the list follows it, in the server's words, so no rule it states is lost.
STATES_RULES = frozenset({"password.passwordRequirementsNotMet"})
APP_TITLE = "app.title"  # the app's name in every language, unless the app names itself (EMBEDDED_APP_NAME)


class Texts:
    """i18n key -> text in one language, with `{0}`-style parameters; a theme directory's
    messages override single keys of the built-in ones. A key the language lacks is looked up
    in English; one English lacks too is recorded in `missing`."""

    def __init__(self, dirs: list[Path], lang: str = locales.DEFAULT, english: Texts | None = None):
        self.lang = lang
        self.table = read_messages(dirs, lang)
        self.english: dict[str, str] = (
            self.table
            if lang == locales.DEFAULT
            else (english.table if english else read_messages(dirs, locales.DEFAULT))
        )
        # What a theme (every directory but the last, the built-in one) words itself, in English:
        # it comes before the Identity Engine's own text.
        self.themed = read_messages(dirs[:-1], lang) if lang == locales.DEFAULT else {}
        self.missing: set[str] = set()

    def text(self, key: str) -> str | None:
        """The text for `key`, in this language or else in English; None when there is none."""
        found = self.table.get(key)
        return found if found is not None else self.english.get(key)

    def ui(self, key: str, *params: Any) -> str:
        """The text for a UI key with its parameters. Every key the templates name has an English
        text; a key without one (a bug, counted in `missing`) shows as words, never as a key."""
        found = self.text(key)
        if found is None:
            self.missing.add(key)
            return humanize(key.rsplit(".", 1)[-1])
        return fill(found, params)

    def ui_any(self, *keys: str, default: str = "") -> str:
        """The text of the first key that has one (for texts that may not exist, such as a
        title per remediation), else `default` (a text already, such as the IDX form's label)."""
        for key in keys:
            found = self.text(key)
            if found is not None:
                return found
        return default

    def label(self, text: str | None) -> str:
        """A label the Identity Engine gave a field or option ("Username", "Keep me signed in").
        In English it stays as sent, but for `OUR_ENGLISH`; in another language a label we know
        (`field.<its words>`) reads in that language, and any other (an org's own attribute, or a
        label the Identity Engine already translated) stays as sent."""
        if not text:
            return ""
        if self.lang == locales.DEFAULT:
            key = label_key(text)
            return (self.table.get(key) or text) if key in OUR_ENGLISH else text
        return self.table.get(label_key(text)) or text

    def message(self, m: Message) -> str:
        """An Identity Engine message, by its i18n key. In English the Identity Engine's own text
        comes first (it speaks English unless asked otherwise, with the org's own wording and
        values), unless a theme words the key; our English text serves when it sent none. In any
        other language: our text for the key, else the Identity Engine's, else our English one.
        A text of ours needing more parameters than the message brought is passed over."""
        key = m.key or ""
        english = self.lang == locales.DEFAULT
        ours = self.themed.get(key) or (self.table.get(key) if key in OUR_ENGLISH else None)
        first, last = (ours, self.table.get(key)) if english else (self.table.get(key), self.english.get(key))
        if first is not None and self._fits(first, m):
            return self._with_rules(fill(first, m.params), m)
        if m.text or last is None or not self._fits(last, m):
            return m.text
        return self._with_rules(fill(last, m.params), m)

    @staticmethod
    def _with_rules(text: str, m: Message) -> str:
        """Our text of a message that states rules, followed by the rules as the server stated them."""
        stated = m.params[0] if m.key in STATES_RULES and m.params and isinstance(m.params[0], str) else ""
        return f"{text} {stated.strip()}" if stated.strip() and stated.strip() not in text else text

    @staticmethod
    def _fits(text: str, m: Message) -> bool:
        return all(int(i) < len(m.params) for i in PARAM.findall(text))


class Catalogue:
    """Texts for every language in `locales.LANGUAGES`, read once each."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs
        self.english = Texts(dirs)
        self._texts = {locales.DEFAULT: self.english}

    def texts(self, lang: str) -> Texts:
        code = locales.language(lang).code
        if code not in self._texts:
            self._texts[code] = Texts(self.dirs, code, self.english)
        return self._texts[code]


@functools.lru_cache(maxsize=16)
def catalogue(dirs: tuple[Path, ...]) -> Catalogue:
    """The texts of one theme chain, read once per process."""
    return Catalogue(list(dirs))


# The page being rendered: its texts (the Jinja globals `ui`, `ui_any`, `field_label` and `msg`
# read them) and its context (`page_var` reads it: the CSRF token, the step, the page), so
# macros imported without context, and therefore cached, still speak for this page.
_ACTIVE: ContextVar[Texts | None] = ContextVar("embedded.texts", default=None)
_PAGE: ContextVar[Mapping[str, Any] | None] = ContextVar("embedded.page", default=None)


def page_var(name: str, default: Any = None) -> Any:
    """A value of the page being rendered (`csrf_token`, `step_version`, `page`, ...)."""
    return (_PAGE.get() or {}).get(name, default)


# Authenticators whose one-time codes are digits only: their code inputs get inputmode="numeric".
NUMERIC_CODES = frozenset(
    {
        "okta_email",
        "phone_number",
        "google_otp",
        "okta_verify",
        "custom_otp",
        "rsa_token",
        "symantec_vip",
        "onprem_mfa",
        "duo",
    }
)


@dataclass(frozen=True)
class FormFacts:
    """What the form macro needs beyond the form itself, worked out here once (cheaper than in Jinja)."""

    primary: bool  # the page's main form: it focuses a field, and shows a CAPTCHA when there is one
    numeric: bool  # its one-time codes are digits only
    invalid: tuple[Control, ...]  # its visible fields with messages, for the error summary
    focus: Control | None  # the primary form's first field in error, else its first field


def form_facts(view: FormView) -> FormFacts:
    page = page_var("page")
    # The page's main form: its primary remediation (perhaps shown without a control or two), or
    # the chosen method's details.
    main, details = getattr(page, "primary", None), getattr(page, "details", None)
    primary = (main is not None and view.id == main.id) or (details is not None and view is details.view)
    shown = [c for c in view.controls if c.kind != "hidden"]
    invalid = tuple(c for c in shown if c.messages)
    first = (invalid or shown)[0] if primary and shown else None
    return FormFacts(
        primary, view.authenticator is not None and view.authenticator.key in NUMERIC_CODES, invalid, first
    )


def loader(dirs: list[Path]) -> jinja2.BaseLoader:
    return jinja2.FileSystemLoader([str(d) for d in dirs])


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the process, keyed by file and checked against its
    source: every environment (one per theme chain and mount point) compiles each file once."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


def configure(env: jinja2.Environment, dirs: list[Path], urls: Urls) -> jinja2.Environment:
    texts = catalogue(tuple(dirs))

    def current() -> Texts:
        return _ACTIVE.get() or texts.english

    def ui(key: str, *params: Any) -> str:
        # The app's own name (a setting) wins over the catalogues' "My App", in every language.
        return named if key == APP_TITLE and (named := page_var("app_name")) else current().ui(key, *params)

    @functools.lru_cache(maxsize=512)
    def drawn_menu(lang: str, direction: str, links: tuple[locales.LanguageLink, ...]) -> Markup:
        token = _PAGE.set({})  # the menu sees its arguments and nothing of the page
        try:
            menu: Markup = env.get_template(LANGUAGE_MENU).module.menu(lang, direction, links)  # type: ignore[attr-defined]
            return menu
        finally:
            _PAGE.reset(token)

    def language_menu() -> Markup:
        """The page's language switch (`LANGUAGE_MENU`), drawn once for each language and path:
        the same 17 links cost an uncached page more than the rest of it."""
        values = _PAGE.get() or {}
        lang, direction, links = values.get("lang"), values.get("dir"), values.get("languages")
        if isinstance(links, tuple) and not env.auto_reload:
            return drawn_menu(lang, direction, links)
        return drawn_menu.__wrapped__(lang, direction, links)  # another caller's list, or templates reloading

    env.globals.update(
        catalogue=texts,
        ui=ui,
        ui_any=lambda *keys, default="": current().ui_any(*keys, default=default),
        field_label=lambda text: current().label(text),
        msg=lambda m: current().message(m),
        page_var=page_var,
        form_facts=form_facts,
        humanize=humanize,
        language_menu=language_menu,
        urls=urls,
    )
    return env


def create_env(
    theme_dirs: Sequence[str | Path] = (), prefix: str = "", *, urls: Urls | None = None, reload: bool = False
) -> jinja2.Environment:
    """The environment for a theme chain (child first), as mounted at `prefix` (or at `urls`),
    shared by every caller in the process. `reload`: templates changed on disk are picked up
    (development only; otherwise each is read and compiled once)."""
    return _environment(tuple(template_dirs(theme_dirs)), urls or Urls(base=prefix), reload)


class Environment(jinja2.Environment):
    """Jinja's environment, with each template's globals one plain dict. Jinja chains them to the
    environment's (a ChainMap, so that globals changed later still show), and every name a page
    looks up, and every macro import, then walks both maps; ours are all set before the first
    template loads (`configure`), so a copy says the same, faster."""

    pages = PageCache()  # replaced by one of its own in each environment made here

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


@functools.lru_cache(maxsize=32)
def _environment(dirs: tuple[Path, ...], urls: Urls, reload: bool) -> jinja2.Environment:
    env = Environment(
        loader=loader(list(dirs)), autoescape=True, auto_reload=reload, bytecode_cache=COMPILED, cache_size=-1
    )
    env.pages = PageCache()
    return configure(env, list(dirs), urls)


def warm(env: jinja2.Environment) -> None:
    """Compile every template now and import the macro files, so no page pays for it (and a
    theme's broken template stops the start, not a page). A theme's static files are not templates."""
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html") and not n.startswith(themes.STATIC + "/")):
        template = env.get_template(name)
        if name.startswith(MACROS):
            template.module  # noqa: B018 - made once and kept by the template


def step_context(
    response: IdxResponse, outcome: flow.Outcome, *, version: int
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Template candidates and context for a response the user is looking at."""
    page = getattr(outcome, "page", None) or build_page(response)
    poll = flow.poll_form(response) if isinstance(outcome, (flow.ShowForm, flow.Poll)) else None
    context = {
        "page": page,
        "step_version": version,
        # Pages poll from JavaScript; without it only pages with nothing to type reload themselves.
        "poll_ms": flow.poll_interval(poll.refresh) if poll else None,
        "poll_reload": isinstance(outcome, flow.Poll),
        "terminal_kind": flow.terminal_kind(page.messages) if isinstance(outcome, flow.Terminal) else None,
    }
    return page.templates, context


def render(
    env: jinja2.Environment,
    names: tuple[str, ...] | str,
    context: Mapping[str, Any],
    *,
    locale: str = locales.DEFAULT,
    varying: Mapping[str, Any] | None = None,
    cached: bool = False,
    private: Sequence[str | None] = (),
    recall: tuple[str, Any] | None = None,
) -> str:
    """The first template of `names` that exists, in `locale` (one of `locales.CODES`): its
    texts, and `lang` and `dir` for `<html>`, with the `varying` values (those that differ on
    every request, such as the CSRF token) besides the context. `cached`: the page may come
    from the environment's page cache, keyed by the context with `private` values (a state
    handle) cut out, and `recall` (what made the context, and what to keep with the page) lets
    `recalled` find it before its context is made."""
    language = locales.language(locale)
    texts = env.globals.get("catalogue")
    template = env.select_template([names] if isinstance(names, str) else list(names))

    def draw(context: Mapping[str, Any]) -> str:
        values = {"lang": language.code, "dir": language.direction, **context, "template_name": template.name}
        token = _ACTIVE.set(texts.texts(language.code) if isinstance(texts, Catalogue) else None)
        page_token = _PAGE.set(values)
        try:
            return template.render(values)
        finally:
            _PAGE.reset(page_token)
            _ACTIVE.reset(token)

    if not cached or not isinstance(env, Environment) or env.auto_reload:
        return draw({**context, **(varying or {})})
    return env.pages.render(draw, (template.name, language.code), context, varying or {}, private, recall)


def recalled(env: jinja2.Environment, inputs: str, varying: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The page kept for what made its context (`inputs`, language included), and what was kept
    with it: see `render`'s `recall`."""
    if not isinstance(env, Environment) or env.auto_reload:
        return None
    return env.pages.recall(inputs, varying)
