"""A person's browser for the benchmarks, minus the browser: it reads each page the app serves
and takes the next step of a journey (sign-in with a password, with an emailed code,
registration, recovery), reading codes from the simulator's outbox.

Shared by bench/faults.py (which injects a fault before one step) and bench/soak.py (many
journeys at once, against several app instances).
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pages import PageForm, read  # noqa: E402

KINDS = ("password", "email-mfa", "register", "recover")
STARTS = {"password": "/login", "email-mfa": "/login", "register": "/register", "recover": "/recover"}
TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
NOTICE = re.compile(r'<div class="message message--(\w+)"[^>]*>(.*?)</div>', re.S)
TAG = re.compile(r"<[^>]+>")


def text(fragment: str) -> str:
    return " ".join(unescape(TAG.sub(" ", fragment)).split())


@dataclass
class Page:
    status: int
    path: str
    html: str
    statuses: list[int]  # every response on the way, redirects included
    seconds: float
    paths: list[str] = field(default_factory=list)  # every path on the way, redirects included

    @property
    def title(self) -> str:
        found = TITLE.search(self.html)
        return text(found.group(1)) if found else ""

    @property
    def notices(self) -> list[str]:
        return [text(body) for _, body in NOTICE.findall(self.html)]

    @property
    def signed_in(self) -> bool:
        return self.path == "/" and 'data-claim="email"' in self.html

    def primary(self) -> PageForm | None:
        return next((f for f in read(self.html).forms if f.hidden.get("_form") == "0"), None)

    def forms(self) -> list[PageForm]:
        return read(self.html).forms

    def shows(self, words: str) -> bool:
        return words.lower() in text(self.html).lower()

    def seen(self) -> str:
        """What the person saw, in a few words: the heading and the first notice."""
        notices = self.notices
        return self.title + (f" / {notices[0]}" if notices else "")


class Browser:
    """One cookie jar; each request goes to the next of `bases` (several app instances behind a
    load balancer that does not stick sessions)."""

    def __init__(
        self, http: aiohttp.ClientSession, bases: list[str], outbox: str, headers: dict[str, str] | None = None
    ):
        self.http = http
        self.bases = itertools.cycle(bases)
        self.outbox_url = outbox
        self.headers = headers or {}

    async def _fetch(self, method: str, path: str, **kwargs) -> Page:
        started = time.monotonic()
        async with self.http.request(method, next(self.bases) + path, headers=self.headers, **kwargs) as resp:
            html = await resp.text(errors="replace")
            statuses = [r.status for r in resp.history] + [resp.status]
            paths = [r.url.path for r in resp.history] + [resp.url.path]
            return Page(resp.status, resp.url.path, html, statuses, time.monotonic() - started, paths)

    async def get(self, path: str) -> Page:
        return await self._fetch("GET", path)

    async def post(self, path: str, data: list[tuple[str, str]] | dict[str, str]) -> Page:
        return await self._fetch("POST", path, data=data)

    async def code(self, login: str) -> str:
        async with self.http.get(self.outbox_url, params={"to": login}) as resp:
            sent = [m for m in await resp.json() if m.get("kind") == "email" and m.get("code")]
        if not sent:
            raise JourneyError(f"no email code sent to {login}")
        return str(sent[0]["code"])


class JourneyError(Exception):
    """The page did not offer what the journey needed next."""


@dataclass
class Journey:
    """One person's journey of `kind`; `advance()` takes one step (the first opens the start
    page) and returns its label; `done` once signed in (or, for recovery, back at sign-in)."""

    kind: str
    browser: Browser
    login: str
    password: str = ""
    new_password: str = ""
    names: tuple[str, str] = ("Sol", "Bench")
    page: Page | None = None
    steps: int = 0
    pages: list[Page] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.page is not None and (
            self.page.signed_in
            or (
                self.kind == "recover"
                and self.page.path == "/login"
                and self.steps > 3
                and self.page.primary() is not None
                and self.page.shows("sign in")
            )
        )

    async def advance(self) -> str:
        label, page = await self._take()
        self.page = page
        self.pages.append(page)
        self.steps += 1
        return label

    async def _take(self) -> tuple[str, Page]:
        if self.page is None:
            return "start", await self.browser.get(STARTS[self.kind])
        form = self.page.primary()
        if form is None:
            skip = next((f for f in self.page.forms() if f.name == "skip"), None)
            if skip is not None:
                return "skip", await self.browser.post("/login/step", skip.hidden)
            raise JourneyError(f"no form on {self.page.path}: {self.page.seen()!r}")
        inputs = form.inputs
        if "userProfile.email" in inputs:
            return form.name or "profile", await self.submit(
                form,
                {
                    "userProfile.firstName": self.names[0],
                    "userProfile.lastName": self.names[1],
                    "userProfile.email": self.login,
                    "credentials.passcode": self.password,
                },
            )
        if "identifier" in inputs:
            values = {"identifier": self.login}
            if "credentials.passcode" in inputs:
                values["credentials.passcode"] = self.password
            return form.name or "identify", await self.submit(form, values)
        if "confirmPassword" in inputs:
            return f"{form.name} (new password)", await self.submit(
                form, {"credentials.passcode": self.new_password, "confirmPassword": self.new_password}
            )
        if "credentials.passcode" in inputs:
            if self.kind in ("password", "email-mfa") and "password" in self.page.title.lower():
                return f"{form.name} (password)", await self.submit(form, {"credentials.passcode": self.password})
            return f"{form.name} (email code)", await self.submit(
                form, {"credentials.passcode": await self.browser.code(self.login)}
            )
        if "authenticator" in form.options:
            email = next((v for label, v in form.options["authenticator"].items() if "email" in label.lower()), None)
            if email is None:
                raise JourneyError(f"no email option on {form.name}")
            return f"{form.name} (email)", await self.submit(form, {"authenticator": email})
        skip = next((f for f in self.page.forms() if f.name == "skip"), None)
        if skip is not None:
            return "skip", await self.browser.post("/login/step", skip.hidden)
        raise JourneyError(f"cannot answer {form.name} on {self.page.path}")

    async def submit(self, form: PageForm, values: dict[str, str]) -> Page:
        data = list(form.hidden.items()) + [(name, values.get(name, "")) for name in form.inputs]
        for name in form.options:
            if name in values and name not in form.inputs:
                data.append((name, values[name]))
        return await self.browser.post("/login/step", data)

    async def finish(self, max_steps: int = 12) -> list[tuple[str, float]]:
        """Every remaining step, with its time."""
        timings = []
        while not self.done:
            if self.steps >= max_steps:
                raise JourneyError(
                    f"{self.kind} not done after {max_steps} steps (at {self.page.path if self.page else '?'})"
                )
            label = await self.advance()
            assert self.page is not None
            if self.page.status >= 400:
                raise JourneyError(f"{label}: HTTP {self.page.status} {self.page.seen()!r}")
            timings.append((label, self.page.seconds))
        return timings


async def sign_out(browser: Browser) -> Page:
    page = await browser.get("/logout")
    form = next((f for f in page.forms() if "_csrf" in f.hidden), None)
    if form is None:
        raise JourneyError("no sign-out form")
    return await browser.post("/logout", form.hidden)


def add_users(org, template: str, count: int, tag: str) -> list[str]:
    """`count` copies of a demo user (same password, groups, email enrollment) under new logins."""
    from embedded.simulator.org import Enrollment, User

    model = org.user(template)
    logins = []
    for n in range(count):
        login = template.replace("@", f"+{tag}{n}@")
        org.add_user(
            User(
                login=login,
                first_name=model.first_name,
                last_name=model.last_name,
                password=model.password,
                groups=list(model.groups),
                enrollments=[Enrollment(key=e.key, id="", data=dict(e.data)) for e in model.enrollments],
            )
        )
        logins.append(login)
    return logins
