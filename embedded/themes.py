"""Theme directories: how the setting is read, and where a theme's static file is found.

A theme is a directory laid out like the built-in `templates/` (step pages, `controls/`,
`messages/<lang>.json`) with an optional `static/` beside them. Themes form a chain, child
first: each file is looked up in every theme in turn, then in the built-in files. No aiohttp:
the command line and the app both use it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

STATIC = "static"
# EMBEDDED_THEME_DIRS: the platform's path separator (":" here) or commas between directories.
SEPARATORS = re.compile(f"[{re.escape(os.pathsep)},]")


def split_setting(text: str) -> tuple[str, ...]:
    """ "child:parent" or "child, parent": the directories, child first, blanks dropped."""
    return tuple(part.strip() for part in SEPARATORS.split(text) if part.strip())


def chain(theme_dirs: Sequence[str | Path] | str | Path | None) -> tuple[Path, ...]:
    """Theme directories as paths, child first. One directory alone (a str or a Path, the older
    single-theme spelling) is a chain of one; None or () is no theme."""
    if theme_dirs is None:
        return ()
    if isinstance(theme_dirs, (str, Path)):
        theme_dirs = [theme_dirs]
    return tuple(Path(d) for d in theme_dirs)


def problem(theme_dir: str | Path) -> str | None:
    """Why `theme_dir` cannot be a theme, or None when it can."""
    path = Path(theme_dir)
    if not path.exists():
        return f"{theme_dir!s} does not exist"
    if not path.is_dir():
        return f"{theme_dir!s} is not a directory"
    return None


def chain_problem(theme_dirs: Sequence[str | Path] | str | Path | None, name: str) -> str | None:
    """Why the chain cannot be used, named as the caller gave it (`theme_dirs` for
    `setup(theme_dirs=...)`, `EMBEDDED_THEME_DIRS` for the environment, `--theme` on the command
    line), or None when every directory can be a theme."""
    for theme_dir in chain(theme_dirs):
        if (why := problem(theme_dir)) is not None:
            return f"{name}: {why}"
    return None


def static_dirs(themes: Sequence[Path]) -> tuple[Path, ...]:
    """The `static/` directories of the themes that have one, child first."""
    return tuple(d / STATIC for d in themes if (d / STATIC).is_dir())


def static_file(roots: Sequence[Path], relative: str) -> Path | None:
    """The first file `relative` names under one of `roots` (child first). Never a file outside
    its root: `..`, absolute paths and symbolic links leading out are refused."""
    if not relative or "\\" in relative or "\0" in relative or Path(relative).is_absolute():
        return None
    for root in roots:
        base = root.resolve()
        try:
            found = (base / relative).resolve()
        except (OSError, RuntimeError):  # a symlink loop
            continue
        if found.is_relative_to(base) and found.is_file():
            return found
    return None
