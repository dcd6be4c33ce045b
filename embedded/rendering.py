"""Templates and texts: the Jinja environment shared by the app and `python -m embedded render`.

Templates are looked up in a theme directory first (when configured), then in the
built-in `templates/`. Texts come from `messages/en.json` in the same directories, keyed
by IDX i18n keys and UI keys; the server's own text is the fallback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from . import flow
from .forms import humanize
from .idx_models import IdxResponse, Message
from .page import build_page
from .urls import Urls

HERE = Path(__file__).resolve().parent


def _packaged(name: str) -> Path:
    # A source checkout keeps templates/ and static/ beside the package; an installed
    # wheel carries them inside it.
    inside = HERE / name
    return inside if inside.is_dir() else HERE.parent / name


TEMPLATES_DIR = _packaged("templates")
STATIC_DIR = _packaged("static")


def template_dirs(theme_dir: str | None) -> list[Path]:
    return ([Path(theme_dir)] if theme_dir else []) + [TEMPLATES_DIR]


class Texts:
    """i18n key -> text, with `{0}`-style parameters; later directories are overridden by earlier ones."""

    def __init__(self, dirs: list[Path], lang: str = "en"):
        self.table: dict[str, str] = {}
        for d in reversed(dirs):
            path = d / "messages" / f"{lang}.json"
            if path.is_file():
                self.table.update(json.loads(path.read_text(encoding="utf-8")))

    def message(self, m: Message) -> str:
        template = self.table.get(m.key or "")
        if template is None:
            return m.text
        try:
            return template.format(*m.params)
        except (IndexError, KeyError, ValueError):
            return template

    def ui(self, key: str, default: str | None = None) -> str:
        return self.table.get(key) or default or humanize(key.rsplit(".", 1)[-1])


def loader(dirs: list[Path]) -> jinja2.BaseLoader:
    return jinja2.FileSystemLoader([str(d) for d in dirs])


def configure(env: jinja2.Environment, dirs: list[Path], urls: Urls) -> jinja2.Environment:
    texts = Texts(dirs)
    env.globals.update(msg=texts.message, ui=texts.ui, humanize=humanize, urls=urls)
    return env


@functools.lru_cache(maxsize=8)
def create_env(theme_dir: str | None = None, prefix: str = "") -> jinja2.Environment:
    """An environment for rendering outside the app (`python -m embedded render`), as mounted at `prefix`."""
    dirs = template_dirs(theme_dir)
    env = jinja2.Environment(loader=loader(dirs), autoescape=True)
    return configure(env, dirs, Urls(base=prefix))


def step_context(response: IdxResponse, outcome: flow.Outcome, *, version: int) -> tuple[tuple[str, ...], dict[str, Any]]:
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


def render(env: jinja2.Environment, names: tuple[str, ...] | str, context: Mapping[str, Any]) -> str:
    template = env.select_template([names] if isinstance(names, str) else list(names))
    return template.render({**context, "template_name": template.name})
