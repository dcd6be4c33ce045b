"""Scripts of IDX responses: what `record` writes and `idx_replay` plays.

A recording is a directory holding `manifest.json` and one JSON file per response:

    {"format": "embedded-idx-recording/1",
     "org": "https://org.example",                   the placeholder org every href is rebased on
     "issuer": "https://org.example/oauth2/default",
     "sequences": {"password": [
         {"call": "POST /idp/idx/introspect", "status": 200, "response": "password/01-introspect.json",
          "request": {"interactionHandle": "interaction-handle-1"}},
         {"call": "GET /sso/idps/id-7", "redirect": {"interaction_code": "interaction-code-1"}},
         ...]}}

One sequence is one sign-in transaction (one `/v1/interact`): the Identity Engine calls the app
made, in order, each with the response it got and the body it sent (`request`, redacted).
`/v1/interact`, `/v1/token` and the OAuth endpoints around them are not steps: the replay answers
them itself, checking what Okta checks. A `GET /sso/idps/…` step is a browser leaving for an
identity provider; its `redirect` is the query the provider sent back to the app's redirect URI
(`state` is added by the replay).

What a test typed is checked against the recorded `request` (`typed_mismatches`): every value must
be the recorded one, but for two kinds the recording cannot know. A secret (a password, passcode,
answer: recorded as `[redacted]`, or a field its form flags `secret`) must be given and not
empty; its value cannot be checked. A stand-in (`user-1@example.com`, `Given1`, `+15550000001`:
what the recorder put in place of a value naming a person) must be what the manifest's optional
`"people"` map, or the test (`play_recorded(..., people=...)`), says it stands for; with neither,
the first value typed for it fixes it for the rest of the sequence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .redact import TYPED_SECRETS

FORMAT = "embedded-idx-recording/1"
MANIFEST = "manifest.json"
# Where recorded hrefs point: a reserved name (RFC 6761 `.example`), never a real org.
PLACEHOLDER_ORG = "https://org.example"
# Okta's Sign-In Widget fixtures point at this origin; the replay rebases it too.
WIDGET_ORG = "http://localhost:3000"

Json = Any
REDACTED = "[redacted]"  # a typed secret, in a recorded request
# The placeholders redact.py puts in place of values that name a person (logins and emails, phone
# numbers, given and family names, whole names, other profile attributes).
STAND_IN = re.compile(r"user-\d+(?:@example\.com)?|\+1555\d{7}|Given\d+|Family\d+|Person \d+|profile-\d+")
# Checked as Okta checks them (the current state handle, the interaction handle), not as typed.
HANDLES = frozenset({"stateHandle", "stateToken", "interactionHandle"})
_MISSING: Any = object()


@dataclass(frozen=True)
class Step:
    """One expected call and the answer to it."""

    method: str
    path: str
    status: int = 200
    body: Json = None  # an Ion document, another JSON body, or text
    redirect: dict[str, str] | None = None  # a browser GET to an identity provider: the query back to the app
    headers: dict[str, str] = field(default_factory=dict)
    source: str = ""  # where the step came from, for messages
    request: Json = None  # the body recorded with it (redacted): what the test typed is checked against it

    @property
    def call(self) -> str:
        return f"{self.method} {self.path}"

    def describe(self) -> str:
        return f"{self.call}  ({self.source})" if self.source else self.call


StepLike = Step | Mapping[str, Any] | tuple[str, Json] | tuple[str, Json, int]


def step_of(item: StepLike, index: int = 0) -> Step:
    """A Step from a Step, a dict or a tuple.

    `("/idp/idx/identify", doc)` and `("/idp/idx/identify", doc, 401)` are POSTs with their answer;
    a dict takes the keys `path` (or `call`: "POST /idp/idx/identify"), `body` (or `response`,
    a file), `status`, `redirect`, `headers`."""
    if isinstance(item, Step):
        return item
    if isinstance(item, tuple):
        path, body, *status = item
        return Step("POST", path, status[0] if status else 200, body, source=f"step {index + 1}")
    data = dict(item)
    if "call" in data:
        method, _, path = str(data["call"]).partition(" ")
    else:
        method, path = str(data.get("method", "POST")).upper(), str(data["path"])
    body = data.get("body")
    source = str(data.get("source") or f"step {index + 1}")
    if body is None and data.get("response"):
        file = Path(str(data["response"]))
        body = _read(file)
        source = str(data.get("source") or file.name)
    return Step(
        method=method,
        path=path,
        status=int(data.get("status", 200)),
        body=body,
        redirect=dict(data["redirect"]) if data.get("redirect") is not None else None,
        headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
        source=source,
        request=data.get("request"),
    )


def steps_of(items: Iterable[StepLike]) -> list[Step]:
    return [step_of(item, i) for i, item in enumerate(items)]


def _read(file: Path) -> Json:
    text = file.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError:
        return text


class Recording:
    """A directory written by `python -m embedded record` (or by `Recorder`)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        manifest = self.directory / MANIFEST
        try:
            self.manifest: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"no {MANIFEST} in {self.directory}: not a recording") from None
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{manifest} is not an {FORMAT} manifest")

    @property
    def org(self) -> str:
        return str(self.manifest.get("org", PLACEHOLDER_ORG))

    @property
    def names(self) -> list[str]:
        return list(self.manifest["sequences"])

    @property
    def people(self) -> dict[str, str]:
        """Who the stand-ins stand for, where the recording says (the demo recordings do: their
        people are made up); a recording of a real org's people says nothing."""
        return {str(k): str(v) for k, v in (self.manifest.get("people") or {}).items()}

    def steps(self, name: str) -> list[Step]:
        sequences = self.manifest["sequences"]
        if name not in sequences:
            raise KeyError(f"no sequence {name!r} in {self.directory / MANIFEST}; there are: {', '.join(sequences)}")
        out = []
        for i, entry in enumerate(sequences[name]):
            entry = dict(entry)
            if entry.get("response"):
                entry["source"] = entry["response"]
                entry["response"] = str(self.directory / entry["response"])
            out.append(step_of(entry, i))
        return out

    def document(self, name: str, index: int) -> Json:
        """The body of one step: `recording.document("password", 0)` is the first introspect's answer."""
        return self.steps(name)[index].body


def rebase(node: Json, origins: Iterable[str], to: str) -> Json:
    """The document with every string that starts with one of `origins` moved onto `to`."""
    origins = tuple(o.rstrip("/") for o in origins if o.rstrip("/") != to.rstrip("/"))
    if not origins:
        return node

    def walk(n: Json) -> Json:
        if isinstance(n, str):
            for origin in origins:
                if n == origin or n.startswith((origin + "/", origin + "?")):
                    return to.rstrip("/") + n[len(origin) :]
            return n
        if isinstance(n, dict):
            return {k: walk(v) for k, v in n.items()}
        if isinstance(n, list):
            return [walk(v) for v in n]
        return n

    return walk(node)


def secret_fields(document: Json, path: str) -> set[str]:
    """The dotted names of the fields that `document`'s form posting to `path` flags `secret`."""
    remediations = document.get("remediation", {}).get("value", []) if isinstance(document, dict) else []
    found: set[str] = set()
    for form in remediations:
        if isinstance(form, dict) and str(form.get("href", "")).split("?")[0].endswith(path):
            found.update(_secret_names(form.get("value")))
    return found


def _secret_names(fields: Json, prefix: str = "") -> Iterator[str]:
    for f in fields if isinstance(fields, list) else []:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        name = prefix + f["name"]
        if f.get("secret") is True:
            yield name
        forms = [f.get("form")] + [o.get("value", {}).get("form") for o in f.get("options") or [] if _has_form(o)]
        for form in forms:
            if isinstance(form, dict):
                yield from _secret_names(form.get("value"), name + ".")


def _has_form(option: Json) -> bool:
    return isinstance(option, dict) and isinstance(option.get("value"), dict)


def typed_mismatches(recorded: Json, sent: Json, *, secrets: Collection[str], people: dict[str, str]) -> list[str]:
    """How the body the app sent differs from the recorded one, one line per value: every value
    must be the recorded one; a secret (see the module) must be given; a stand-in must be who
    `people` says, and fixes `people` when it says nothing yet."""
    out: list[str] = []

    def walk(rec: Json, got: Json, path: str) -> None:
        key = path.rpartition(".")[2]
        if key in HANDLES:
            return
        if rec is _MISSING:
            out.append(f"{path}: the test sent {got!r}; the recording has no such value")
        elif isinstance(rec, dict) and isinstance(got, dict):
            for k in [*rec, *(k for k in got if k not in rec)]:
                walk(rec.get(k, _MISSING), got.get(k, _MISSING), f"{path}.{k}" if path else k)
        elif isinstance(rec, list) and isinstance(got, list) and len(rec) == len(got):
            for i, (r, g) in enumerate(zip(rec, got, strict=True)):
                walk(r, g, f"{path}[{i}]")
        elif rec == REDACTED or path in secrets or key in TYPED_SECRETS:
            given = got is not _MISSING and got not in (None, "")
            if rec in (None, "") and given:
                out.append(f"{path}: the test gave a secret where the recording has none")
            elif rec not in (None, "") and not given:
                out.append(f"{path}: a secret the recording has, but the test gave none")
        elif isinstance(rec, str) and STAND_IN.fullmatch(rec):
            if got is _MISSING or got in (None, ""):
                out.append(f"{path}: the recording has {rec!r} (someone's value, redacted), the test gave none")
            elif people.setdefault(rec, got) != got:
                out.append(f"{path}: the test typed {got!r}, but the recording's {rec!r} is {people[rec]!r}")
        elif got != rec:
            sent_text = "nothing" if got is _MISSING else repr(got)
            out.append(f"{path}: the test sent {sent_text}, the recording has {rec!r}")

    walk(recorded, sent, "")
    return out
