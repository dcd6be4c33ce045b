"""The languages pages are offered in, and which one a request gets. Pure: no web framework.

A page's language is, first match wins: an explicit `?lang=` choice, the choice remembered
in the session, the browser's `Accept-Language` (quality values; `fr-CA` finds `fr`, any `pt`
finds `pt-BR`), then English. Chinese is chosen by script: Traditional (`zh-TW`) for a `Hant`
script or a Taiwan, Hong Kong or Macau region, Simplified (`zh-CN`) for anything else under `zh`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Language:
    code: str  # the BCP 47 tag: messages/<code>.json, <html lang>, ?lang=
    name: str  # in the language itself, as the switch shows it
    rtl: bool = False

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


# The switch lists them in this order: Latin script first, then the others.
LANGUAGES: tuple[Language, ...] = (
    Language("en", "English"),
    Language("fr", "Français"),
    Language("de", "Deutsch"),
    Language("es", "Español"),
    Language("it", "Italiano"),
    Language("nl", "Nederlands"),
    Language("pt-BR", "Português (Brasil)"),
    Language("pl", "Polski"),
    Language("sv", "Svenska"),
    Language("tr", "Türkçe"),
    Language("id", "Bahasa Indonesia"),
    Language("ru", "Русский"),
    Language("ar", "العربية", rtl=True),
    Language("ja", "日本語"),
    Language("ko", "한국어"),
    Language("zh-CN", "简体中文"),
    Language("zh-TW", "繁體中文"),
)
DEFAULT = "en"
CODES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGES)
_BY_TAG = {lang.code.lower(): lang for lang in LANGUAGES}
_BY_PRIMARY = {lang.code.split("-")[0].lower(): lang for lang in LANGUAGES if not lang.code.startswith("zh")}
# Subtags after `zh` that mean Traditional characters: the script, or a region that writes it
# (an explicit `Hans` script wins over the region: zh-Hans-HK is Simplified).
_TRADITIONAL = {"hant", "tw", "hk", "mo"}

# One language range with an optional weight: "fr-CA", "*", "de;q=0.7" (RFC 9110 §12.5.4).
_RANGE = re.compile(
    r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*)?"
)
MAX_HEADER = 1024  # longer Accept-Language headers are read up to here
MAX_RANGES = 32


def language(code: str) -> Language:
    """The language for one of `CODES` (English for anything else)."""
    return _BY_TAG.get(code.lower(), _BY_TAG[DEFAULT])


def match(tag: str) -> str | None:
    """One of `CODES` for a language tag: the tag itself (case-insensitive, `_` read as `-`), else
    its primary language (`fr-CA` -> `fr`, `pt-PT` -> `pt-BR`, `en-GB` -> `en`), Chinese by
    script or region (`zh-Hant-HK` -> `zh-TW`, `zh-SG` or `zh` -> `zh-CN`); None when none fits."""
    tag = tag.strip().lower().replace("_", "-")
    if not tag or len(tag) > 35:
        return None
    primary, *subtags = tag.split("-")
    if primary == "zh":
        return "zh-CN" if "hans" in subtags or not _TRADITIONAL.intersection(subtags) else "zh-TW"
    found = _BY_TAG.get(tag) or _BY_PRIMARY.get(primary)
    return found.code if found else None


def accepted(header: str) -> list[str]:
    """The language ranges of an Accept-Language header, most wanted first (equal weights keep
    their order); ranges with q=0 and malformed ones are left out."""
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        m = _RANGE.fullmatch(part)
        if m is None:
            continue
        q = float(m.group(2)) if m.group(2) is not None else 1.0
        if q > 0:
            weighted.append((-q, i, m.group(1)))
    return [tag for _, _, tag in sorted(weighted)]


class LanguageLink(NamedTuple):
    """One entry of the language switch: a language, and this page in it."""

    code: str
    name: str
    dir: str
    href: str


@functools.lru_cache(maxsize=256)
def switch(here: str) -> tuple[LanguageLink, ...]:
    """The language switch of the page at path `here` (`?lang=` each language): the same tuple
    for every request to that path, so its menu can be drawn once (`rendering`)."""
    return tuple(LanguageLink(lang.code, lang.name, lang.direction, f"{here}?lang={lang.code}") for lang in LANGUAGES)


def negotiate(header: str | None) -> str:
    """The best of `CODES` for an Accept-Language header; English when nothing fits."""
    for tag in accepted(header or ""):
        if tag == "*":
            return DEFAULT
        code = match(tag)
        if code is not None:
            return code
    return DEFAULT


def choose(asked: str | None, remembered: str | None, accept_language: str | None) -> str:
    """The page's language: `?lang=` when it names one of ours, else the remembered choice,
    else the browser's preference, else English."""
    for explicit in (asked, remembered):
        if explicit and (code := match(explicit)) is not None:
            return code
    return negotiate(accept_language)
