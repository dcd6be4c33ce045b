"""Rendered pages kept for the next request that would render the same page.

Most of a page is the same for everyone at the same step (the identify page is the same for
every visitor in a language); only a few per-request values differ: the CSRF token, the CSP
nonce, the correlation id. A page is therefore kept with those values cut out, keyed by
everything else its template sees, and the next request's values are put back in.

What makes this safe:
- the key is the whole rest of the context (its `repr`), so any difference there is another page;
- values private to a transaction that the context carries but a page never shows (the state
  handle) are cut out of the key, and a page that shows one anyway is never kept;
- a page is kept only if rendering it again with other per-request values gives the same page
  once they are cut out: a template that transforms a value (hashes it, slices it) is seen to do
  so and its page is drawn afresh every time;
- only long URL-safe values are cut out, so they cannot match ordinary text by chance, and they
  read the same escaped or not.

A step page can also be found before its context is made (`recall`): by what made that context
(the stored response's text with its state handle and expiry cut out, what the person typed,
the step's number), when a page made from the same inputs was kept. Making the context is pure,
so the same inputs make the same page; and the page kept never showed the state handle.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# A per-request value or private value we cut out: long, random and URL-safe.
CUTTABLE = re.compile(r"[A-Za-z0-9_.~-]{16,}\Z")
SLOT = re.compile("\x00([a-z_]+)\x00")
EXPIRY = re.compile(r'"expiresAt"\s*:\s*"[^"\\]*"')


def response_inputs(text: str, state_handle: str | None) -> str | None:
    """A stored response's text as the part of a page's inputs it is: its state handle (never on
    a page) and its `expiresAt` (checked before a page is shown, and on none) cut out, so a step
    reads the same in every transaction. None when they cannot be cut cleanly."""
    if not state_handle or not CUTTABLE.match(state_handle):
        return None
    text, cuts = EXPIRY.subn('"expiresAt":""', text)
    return text.replace(state_handle, "\x00") if cuts <= 1 else None


class PageCache:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._pages: OrderedDict[str, tuple[str, ...] | None] = OrderedDict()  # None: drawn every time
        self._plain: dict[tuple[Any, ...], bool] = {}  # templates seen to print each value as it is
        # What made a page's context -> the page's key, and what else the page needs (its CSP).
        self._recalled: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self.hits = 0  # pages put together from the cache

    def recall(self, inputs: str, varying: Mapping[str, Any]) -> tuple[str, Any] | None:
        """The page kept for what made its context (`inputs`), with `varying`'s values, and what
        was kept with it; None when there is none."""
        found = self._recalled.get(inputs)
        parts = self._pages.get(found[0]) if found is not None else None
        page = _filled(parts, varying) if parts is not None else None
        if page is None or found is None:
            return None
        self._recalled.move_to_end(inputs)
        self._pages.move_to_end(found[0])
        self.hits += 1
        return page, found[1]

    def render(
        self,
        draw: Callable[[dict[str, Any]], str],
        templates: tuple[Any, ...],
        context: Mapping[str, Any],
        varying: Mapping[str, Any],
        private: Sequence[str | None] = (),
        recall: tuple[str, Any] | None = None,
    ) -> str:
        """The page `draw` makes of `context` and `varying` (values read with `str`, and only
        if the page shows them) with `templates` (what picks the template: names, language),
        from the cache when it has it. `recall`: what made `context`, and what to keep with
        the page, for `recall` to find it by."""
        hidden = [p for p in private if p]
        if all(CUTTABLE.match(p) for p in hidden):
            text = repr((templates, context))
            for value in hidden:
                text = text.replace(value, "\x00")
            kept = text in self._pages
            if kept:
                self._pages.move_to_end(text)
                parts = self._pages[text]
            else:
                parts = self._keep(text, draw, templates, context, varying, hidden)
            if parts is not None and (page := _filled(parts, varying)) is not None:
                self.hits += kept
                if recall is not None:
                    self._recalled[recall[0]] = (text, recall[1])
                    self._recalled.move_to_end(recall[0])
                    if len(self._recalled) > self.size:
                        self._recalled.popitem(last=False)
                return page
        return draw({**context, **varying})

    def _keep(
        self,
        text: str,
        draw: Callable[[dict[str, Any]], str],
        templates: tuple[Any, ...],
        context: Mapping[str, Any],
        varying: Mapping[str, Any],
        hidden: Sequence[str],
    ) -> tuple[str, ...] | None:
        page = _cut(draw, context, varying, hidden)
        if templates not in self._plain:
            # The first time: drawn again with other stand-ins, the same page once they are cut
            # out shows the templates print each value as it is and nowhere else.
            self._plain[templates] = page is not None and page == _cut(draw, context, varying, hidden)
        parts = tuple(SLOT.split(page)) if page is not None and self._plain[templates] else None
        self._pages[text] = parts
        if len(self._pages) > self.size:
            self._pages.popitem(last=False)
        return parts


def _filled(parts: tuple[str, ...], varying: Mapping[str, Any]) -> str | None:
    """A kept page with this request's values in its slots; None if one is not a cuttable value."""
    page = list(parts)
    for i in range(1, len(page), 2):
        page[i] = str(varying[page[i]])
    return "".join(page) if all(CUTTABLE.match(value) for value in page[1::2]) else None


def _cut(
    draw: Callable[[dict[str, Any]], str], context: Mapping[str, Any], varying: Mapping[str, Any], hidden: Sequence[str]
) -> str | None:
    """The page drawn with random stand-ins for the varying values, each then replaced by its
    slot; None when it cannot be cut cleanly."""
    values = {name: secrets.token_urlsafe(18) for name in varying}
    page = draw({**context, **values})
    if "\x00" in page or any(value in page for value in hidden):
        return None
    for name, value in values.items():
        page = page.replace(value, f"\x00{name}\x00")
    return page
