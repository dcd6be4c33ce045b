"""A browser tab without the browser, for tests that drive sign-in through the real pages.

`Tab` reads pages the way a person does (forms by purpose, options by their label), posts forms
with their hidden fields, and follows redirects itself: to the app's own pages through the test
client, to an identity provider's pages (on the replay or the simulator) over real HTTP.
`signed_in(client, user=..., password=...)` is the common case in one call.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

TEMPLATE = re.compile(r"<!-- template: (\S+) -->")
Code = str | Callable[[], str | Awaitable[str]] | None


@dataclass
class Form:
    name: str | None  # the IDX remediation (data-form), None for action buttons and other forms
    action: str
    method: str = "post"
    hidden: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # text-like controls, in document order
    checkboxes: dict[str, str] = field(default_factory=dict)  # name -> value, ticked or not
    checked: dict[str, str] = field(default_factory=dict)  # the ticked ones
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # radio or select name -> label -> value
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (text, name, value)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.text: list[str] = []
        self.labels: dict[str, str] = {}
        self._radios: list[tuple[Form, str, str, str]] = []
        self._label_for: str | None = None
        self._label: list[str] = []
        self._button: tuple[str, str] | None = None
        self._button_text: list[str] = []
        self._select: str | None = None
        self._option: str | None = None
        self._option_text: list[str] = []
        self._in_form = False
        self._skip = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        form = self.forms[-1] if self.forms and self._in_form else None
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self.forms.append(Form(a.get("data-form") or None, a.get("action", ""), (a.get("method") or "get").lower()))
            self._in_form = True
        elif tag == "input" and form is not None and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                form.hidden[a["name"]] = a.get("value", "")
            elif kind == "radio":
                self._radios.append((form, a["name"], a.get("value", ""), a.get("id", "")))
            elif kind == "checkbox":
                form.checkboxes[a["name"]] = a.get("value", "on")
                if "checked" in a:
                    form.checked[a["name"]] = a.get("value", "on")
            elif kind in ("submit", "button"):
                form.buttons.append((a.get("value", ""), a["name"], a.get("value", "")))
            else:
                form.inputs.append(a["name"])
        elif tag == "select" and form is not None:
            self._select = a.get("name", "")
            form.inputs.append(self._select)
            form.options.setdefault(self._select, {})
        elif tag == "option" and self._select is not None:
            self._option, self._option_text = a.get("value", ""), []
        elif tag == "textarea" and form is not None and a.get("name"):
            form.inputs.append(a["name"])
        elif tag == "label":
            self._label_for, self._label = a.get("for"), []
        elif tag == "button" and form is not None:
            self._button, self._button_text = (a.get("name", ""), a.get("value", "")), []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "form":
            self._in_form = False
        elif tag == "label" and self._label_for:
            self.labels[self._label_for] = " ".join("".join(self._label).split())
            self._label_for = None
        elif tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append((" ".join("".join(self._button_text).split()), *self._button))
            self._button = None
        elif tag == "option" and self._select is not None and self._option is not None and self.forms:
            self.forms[-1].options[self._select][" ".join("".join(self._option_text).split())] = self._option
            self._option = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._label_for:
            self._label.append(data)
        if self._button is not None:
            self._button_text.append(data)
        if self._option is not None:
            self._option_text.append(data)

    def close(self) -> None:
        super().close()
        for form, name, value, id_ in self._radios:
            form.options.setdefault(name, {})[self.labels.get(id_, value)] = value


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Keyword names with `__` for dots: `credentials__passcode` is `credentials.passcode`."""
    return {k.replace("__", "."): v for k, v in fields.items()}


class Tab:
    """One person's tab on the app under test (an aiohttp `TestClient`)."""

    def __init__(self, client: TestClient, *, prefix: str | None = None):
        self.client = client
        self.prefix = _prefix_of(client) if prefix is None else prefix.rstrip("/")
        self.url = ""
        self.status = 0
        self.html = ""
        self.history: list[tuple[int, str]] = []  # (status, url) of every response, redirects included

    # --- navigation ------------------------------------------------------------------------

    async def get(self, url: str, **params: str) -> Tab:
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return await self._go("GET", url)

    async def _go(self, method: str, url: str, data: Any = None) -> Tab:
        for _ in range(12):
            resp = await self._request(method, url, data)
            self.history.append((resp.status, str(resp.url)))
            if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                url = urljoin(str(resp.url), resp.headers["Location"])
                method, data = ("GET", None) if resp.status != 307 else (method, data)
                await resp.release()
                continue
            self.status, self.url, self.html = resp.status, str(resp.url), await resp.text()
            return self
        raise AssertionError(f"more than 12 redirects, the last to {url}")

    def _is_app(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.scheme:
            return True
        own = urlsplit(str(self.client.make_url("/")))
        return parts.netloc == own.netloc or parts.path.startswith(self.prefix + "/login/callback")

    async def _request(self, method: str, url: str, data: Any) -> ClientResponse:
        if self._is_app(url):
            parts = urlsplit(url)
            return await self.client.request(
                method, parts.path + (f"?{parts.query}" if parts.query else ""), data=data, allow_redirects=False
            )
        return await self.client.session.request(method, url, data=data, allow_redirects=False)

    # --- reading ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def template(self) -> str | None:
        """The app's template for this page (`steps/identify.html`, ...)."""
        m = TEMPLATE.search(self.html)
        return m.group(1) if m else None

    def _parsed(self) -> _Parser:
        p = _Parser()
        p.feed(self.html)
        p.close()
        return p

    @property
    def forms(self) -> list[Form]:
        return self._parsed().forms

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._parsed().text).split())

    def shows(self, text: str) -> bool:
        return text.lower() in self.text.lower()

    def form(self, name: str | None = None) -> Form:
        """The step's main form, or the form for the remediation `name`."""
        forms = self.forms
        for f in forms:
            if (name is None and f.hidden.get("_form") == "0") or (name is not None and f.name == name):
                return f
        if name is None and len(forms) == 1:
            return forms[0]
        raise AssertionError(
            f"no form {name or '(main)'} on {self.url} ({self.template}); "
            f"forms: {[f.name or f.hidden.get('_action') for f in forms]}\n{self.text[:500]}"
        )

    def option(self, label: str, control: str = "authenticator", form: str | None = None) -> str:
        options = self.form(form).options.get(control, {})
        for text, value in options.items():
            if label.lower() in text.lower():
                return value
        raise AssertionError(f"no option {label!r} for {control} on {self.template}; options: {list(options)}")

    @property
    def signing_in(self) -> bool:
        """Still on the sign-in pages (the login page, a step, the callback)."""
        return self._is_app(self.url) and self.path.startswith(self.prefix + "/login")

    # --- acting ----------------------------------------------------------------------------

    async def submit(self, _form: str | None = None, _button: str | None = None, **fields: Any) -> Tab:
        """Post a form as a browser does: hidden fields, every text control (empty unless given),
        ticked checkboxes. `_button` picks a submit button by its text (exact, else the first
        containing it). A list value fills same-named controls in order; `credentials__passcode=`
        means `credentials.passcode`."""
        form = self.form(_form)
        given = _fields(fields)
        pending = {k: list(v) if isinstance(v, list) else [v] for k, v in given.items()}
        data: list[tuple[str, str]] = list(form.hidden.items())
        for name in form.inputs:
            values = pending.get(name)
            data.append((name, str(values.pop(0)) if values else ""))
        for name, value in form.checkboxes.items():
            wanted = given.get(name, name in form.checked)
            if wanted is True or (wanted not in (False, None) and wanted == value):
                data.append((name, value))
        for name, values in pending.items():
            if name not in form.inputs and name not in form.checkboxes:
                data += [(name, str(v)) for v in values]
        if _button is not None:
            wanted = _button.lower()
            exact = [b for b in form.buttons if b[0].lower() == wanted]
            text, name, value = next(iter(exact or [b for b in form.buttons if wanted in b[0].lower()]), ("", "", ""))
            if not name and not text:
                raise AssertionError(f"no button {_button!r}; buttons: {[b[0] for b in form.buttons]}")
            if name:
                data.append((name, value))
        action = urljoin(self.url, form.action) if form.action else self.url
        if form.method == "get":
            return await self._go("GET", action + ("&" if "?" in action else "?") + urlencode(data))
        return await self._go("POST", action, data)

    async def choose(self, label: str, control: str = "authenticator", _form: str | None = None, **fields: Any) -> Tab:
        """Pick an option by its label (an authenticator, a method) and submit."""
        return await self.submit(_form, **{control: self.option(label, control, _form)}, **fields)

    async def action(self, name: str) -> Tab:
        """Press an action button (`resend`, `cancel`, ...): the first whose id ends with `name`."""
        for form in self.forms:
            if form.hidden.get("_action", "").endswith(name):
                return await self._go("POST", urljoin(self.url, form.action), list(form.hidden.items()))
        raise AssertionError(f"no action {name!r} on {self.template}")

    async def poll(self) -> dict[str, Any]:
        """One check for progress made elsewhere (a push approved), as the page's script does."""
        resp = await self.client.get(self.prefix + "/login/poll", headers={"Accept": "application/json"})
        assert resp.status == 200, await resp.text()
        result: dict[str, Any] = await resp.json()
        return result


def _prefix_of(client: TestClient) -> str:
    app = getattr(client.server, "app", None)
    try:
        login = str(app.router["embedded.login"].url_for()) if app is not None else "/auth/login"
    except KeyError:
        login = "/auth/login"
    return login[: -len("/login")]


async def _answer(code: Code) -> str:
    if code is None:
        raise AssertionError(
            "signed_in: the sign-in asks for a code; pass code= (a string or a function returning one)"
        )
    value = code() if callable(code) else code
    return await value if inspect.isawaitable(value) else value


async def signed_in(
    client: TestClient,
    *,
    user: str,
    password: str | None = None,
    code: Code = None,
    factor: str | None = None,
    return_to: str | None = None,
    prefix: str | None = None,
) -> Tab:
    """Sign `user` in through the app's real pages and return the tab, on the page the app lands
    on. `code` answers a code page (a string, or a function, maybe async, returning one);
    `factor` picks an authenticator by its label when the app asks which. Fails the test with
    the page's text when the sign-in cannot go on."""
    tab = Tab(client, prefix=prefix)
    await tab.get(tab.prefix + "/login", **({"return_to": return_to} if return_to else {}))
    for _ in range(10):
        if not tab.signing_in or tab.status >= 400:
            break  # signed in and on the host's page (whatever it answers), or an error page
        form = tab.form()
        template = tab.template or ""
        if "identifier" in form.inputs:
            fields = {"identifier": user}
            if "credentials.passcode" in form.inputs and password is not None:
                fields["credentials.passcode"] = password
            await tab.submit(**fields)
        elif form.name and form.name.startswith("select-authenticator") and factor is not None:
            await tab.choose(factor)
        elif "credentials.passcode" in form.inputs and "okta_password" in template:
            if password is None:
                raise AssertionError(f"signed_in: {user} is asked for a password; pass password=")
            await tab.submit(**{"credentials.passcode": password})
        elif "credentials.passcode" in form.inputs:
            await tab.submit(**{"credentials.passcode": await _answer(code)})
        else:
            raise AssertionError(f"signed_in: no way past {template or tab.url} ({form.name}): {tab.text[:400]}")
    if tab.signing_in or (tab.status >= 400 and tab.path.startswith(tab.prefix + "/")):
        raise AssertionError(
            f"signed_in: {user} is not signed in; "
            f"the app shows {tab.template or tab.url} ({tab.status}): {tab.text[:400]}"
        )
    return tab
