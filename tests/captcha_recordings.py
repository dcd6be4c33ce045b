"""The captcha fixtures of the project's own corpus: journeys through the app against the simulator
with `[captcha]` on, recorded with the kit's recording proxy into tests/fixtures/recorded-captcha/
(beside tests/fixtures/recorded/, which tests/corpus.py rewrites whole).

    .venv/bin/python tests/captcha_recordings.py     re-record them

The check is solved as a person would in the provider's frame (the simulator's fake provider),
and its token posted with the form, as static/js/captcha.js does.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import app_client, app_settings  # noqa: E402

from embedded.simulator import Org, demo_org  # noqa: E402
from embedded.simulator.org import org_from_toml  # noqa: E402
from embedded.testing import Recorder, SimulatorHandle  # noqa: E402

OUT = Path(__file__).resolve().parent / "fixtures" / "recorded-captcha"
TOKEN_FIELD = "captchaVerify.captchaToken"


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m.group(1)


class Browser:
    """One person's tab: pages of the app, and the provider's frame on the simulator."""

    def __init__(self, client: TestClient, simulator: SimulatorHandle):
        self.client, self.simulator, self.html = client, simulator, ""

    async def get(self, path: str) -> None:
        self.html = await (await self.client.get(path)).text()

    async def post(self, fields: dict[str, str], *, form: str = "0", action: str | None = None) -> None:
        data = {"_csrf": hidden(self.html, "_csrf"), "_step": hidden(self.html, "_step"), **fields}
        data["_action" if action else "_form"] = action or form
        self.html = await (await self.client.post("/login/step", data=data)).text()

    async def solve(self) -> str:
        site_key = re.search(r'data-sitekey="([^"]+)"', self.html)
        assert site_key, "no CAPTCHA on the page"
        url = f"{self.simulator.origin}/captcha/frame?sitekey={site_key.group(1)}&parent=http://127.0.0.1&widget=0"
        async with aiohttp.ClientSession() as http, http.post(url, data={"human": "yes"}) as r:
            page = await r.text()
        return json.loads(re.search(r"postMessage\((\{.*?\}), ", page).group(1))["token"]


async def identify_hcaptcha(tab: Browser) -> None:
    """alice: the check left undone (refused), then done; her password."""
    await tab.get("/login")
    await tab.post({"identifier": "alice@example.com", TOKEN_FIELD: ""})
    await tab.post({"identifier": "alice@example.com", TOKEN_FIELD: await tab.solve()})
    await tab.post({"credentials.passcode": "Alice-Passw0rd!"})


async def registration_recaptcha(tab: Browser) -> None:
    """a new person signs up with the check done."""
    await tab.get("/register")
    await tab.post(
        {
            "userProfile.firstName": "Cleo",
            "userProfile.lastName": "Check",
            "userProfile.email": "cleo@example.com",
            "credentials.passcode": "Green-Meadow-42x",
            TOKEN_FIELD: await tab.solve(),
        }
    )


async def recovery_hcaptcha(tab: Browser) -> None:
    """bob forgot his password (password on the first page): the check on identify-recovery."""
    await tab.get("/login")
    await tab.post({}, action="currentAuthenticator-recover")
    await tab.post({"identifier": "bob@example.com", TOKEN_FIELD: await tab.solve()})


async def unknown_type_altcha(tab: Browser) -> None:
    """an org asking for a CAPTCHA type this package cannot show."""
    await tab.get("/login")


def captcha_org(setting: str, first_form: str = "identifier_first") -> Org:
    org = demo_org()
    org.captcha = org_from_toml(setting).captcha
    org.first_form = first_form
    return org


JOURNEYS: dict[str, tuple[Callable[[Browser], Awaitable[None]], Org]] = {
    "identify-hcaptcha": (identify_hcaptcha, captcha_org('[captcha]\ntype = "HCAPTCHA"\n')),
    "registration-recaptcha": (registration_recaptcha, captcha_org('[captcha]\ntype = "RECAPTCHA_V2"\n')),
    "recovery-hcaptcha": (recovery_hcaptcha, captcha_org('[captcha]\ntype = "HCAPTCHA"\n', "identifier_password")),
    "unknown-type-altcha": (unknown_type_altcha, captcha_org('[captcha]\ntype = "ALTCHA"\n')),
}


async def record(out: Path) -> None:
    recorder = Recorder("http://127.0.0.1:9/oauth2/default", out)  # retargeted at each journey's simulator
    await recorder.start()
    client = await app_client(app_settings(recorder.issuer))
    try:
        for name, (run, org) in JOURNEYS.items():
            async with SimulatorHandle(org) as simulator:
                recorder.retarget(simulator.issuer)
                recorder.begin(name)
                client.session.cookie_jar.clear()
                await run(Browser(client, simulator))
    finally:
        await client.close()
        await recorder.close()


if __name__ == "__main__":
    for old in sorted(OUT.glob("**/*"), reverse=True):
        old.rmdir() if old.is_dir() else old.unlink()
    asyncio.run(record(OUT))
    print("\n".join(sorted(str(p.relative_to(OUT)) for p in OUT.glob("**/*.json"))))
