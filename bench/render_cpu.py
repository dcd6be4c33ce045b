"""CPU per rendered page: the identify, password and terminal pages, rendered N times each
through the Jinja environment `embedded.setup` gives an app, with the context the app passes.

    python bench/render_cpu.py [--renders N] [--repeat R] [--theme DIR ...]

Only rendering is counted (process CPU time around `rendering.render`), after one warm-up render
of each page; the figure printed is the median of R runs, in ms per page. On a shared machine CPU
time stretches with the load, so the speed of a fixed pure-Python loop is printed beside it, and
the Python calls per page, which the load does not move.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
import timeit
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embedded import Settings, flow, locales, rendering, setup  # noqa: E402
from embedded.idx_models import parse  # noqa: E402
from embedded.keys import TEMPLATES  # noqa: E402

RECORDED = ROOT / "tests" / "fixtures" / "recorded"
PAGES = {
    "identify": RECORDED / "password" / "01-introspect.json",
    "password": RECORDED / "password" / "02-identify.json",
    "terminal": RECORDED / "unlock" / "04-challenge-answer.json",
}


def app_environment(theme_dirs: list[str]):
    """The environment an app mounted at the root renders its pages with."""
    settings = Settings(
        issuer="http://127.0.0.1:9/oauth2/default",
        client_id="bench",
        redirect_uri="http://127.0.0.1:8080/login/callback",
        theme_dirs=tuple(theme_dirs),
    )
    app = web.Application()
    setup(app, settings, prefix="")
    return app[TEMPLATES]


def page_context(path: Path) -> tuple[tuple[str, ...], dict]:
    response = parse(json.loads(path.read_text()))
    names, context = rendering.step_context(response, flow.decide(response), version=3)
    languages = [
        {"code": lang.code, "name": lang.name, "dir": lang.direction, "href": f"/login/step?lang={lang.code}"}
        for lang in locales.LANGUAGES
    ]
    return names, {
        **context,
        "journey": None,
        "csrf_token": "x" * 43,
        "csp_nonce": "n" * 24,
        "correlation": "c" * 16,
        "notices": [],
        "languages": languages,
    }


def ms_per_render(env, names, context, renders: int) -> float:
    start = time.process_time()
    for _ in range(renders):
        rendering.render(env, names, context)
    return (time.process_time() - start) * 1000 / renders


def calls_per_render(env, names, context, renders: int = 20) -> int:
    profile = cProfile.Profile()
    profile.runcall(lambda: [rendering.render(env, names, context) for _ in range(renders)])
    return pstats.Stats(profile).total_calls // renders


def reference_us() -> float:
    """CPU µs of `sum(range(1000))`: how fast this machine runs Python right now."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5, timer=time.process_time)) / 2000 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--theme", action="append", default=[], help="a theme directory (child first; repeat for a parent)"
    )
    args = parser.parse_args()
    env = app_environment(args.theme)
    print(
        f"CPU ms per rendered page, median of {args.repeat} runs of {args.renders} renders "
        f"(reference: sum(range(1000)) takes {reference_us():.0f} µs of CPU here now)"
    )
    for name, path in PAGES.items():
        names, context = page_context(path)
        rendering.render(env, names, context)  # warm-up: the first render compiles and imports
        runs = [ms_per_render(env, names, context, args.renders) for _ in range(args.repeat)]
        print(f"  {name:9} {statistics.median(runs):.3f} ms  {calls_per_render(env, names, context)} Python calls")


if __name__ == "__main__":
    main()
