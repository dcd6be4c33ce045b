"""Command line: serve the demo, preview pages, or run the simulator or the recorder alone.

    python -m embedded [serve] [--host H] [--port N] [--sim-port M]
    python -m embedded render FILE.json [--lang LANG] [--theme DIR ...]
    python -m embedded gallery OUT_DIR [--fixtures DIR] [--theme DIR ...] [--lang LANG ...]
    python -m embedded simulator [--port N] [--org FILE]
    python -m embedded record --issuer URL --out DIR [--port N] [--name NAME]

With no OKTA_IDX_* settings the app signs in against the local simulator, started
in the same process on --sim-port (default: the app port + 1).
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from . import locales, themes
from .config import Settings, SettingsError, configured_in

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"
DEMO_SCOPES = ("openid", "profile", "email", "offline_access")
# Commands that read their own options (and answer their own --help).
OWN_PARSERS = ("simulator", "record")
# What every IDX response carries at least one of (a document with only a `version`, such as a
# package.json, is not one).
IDX_MARKERS = {"stateHandle": str, "remediation": dict, "messages": dict, "successWithInteractionCode": dict}


def fail(message: str) -> int:
    print(f"embedded: {message}", file=sys.stderr)
    return 2


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line (by `main`) rather than the usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("python -m embedded").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def language(text: str) -> str:
    code = locales.match(text)
    if code is None:
        raise argparse.ArgumentTypeError(f"unknown language {text!r} (one of {', '.join(locales.CODES)})")
    return code


def directory(text: str) -> Path:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    return Path(text)


def themes_from_env(environ: Mapping[str, str]) -> list[Path]:
    """The app's themes (EMBEDDED_THEME_DIRS, or the older EMBEDDED_TEMPLATE_DIR), for previews
    run without --theme; checked as the app checks them."""
    name = "EMBEDDED_THEME_DIRS" if environ.get("EMBEDDED_THEME_DIRS") else "EMBEDDED_TEMPLATE_DIR"
    chain = (
        themes.split_setting(environ[name])
        if name == "EMBEDDED_THEME_DIRS"
        else tuple(filter(None, [environ.get(name)]))
    )
    if (why := themes.chain_problem(chain, name)) is not None:
        raise UsageError(why)
    return [Path(d) for d in chain]


def listen(host: str, port: int, option: str) -> socket.socket:
    """A listening socket, made before anything is printed: a port in use is one line naming it."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"{option} {port}: the port is in use on {host}") from None
        raise UsageError(f"{option} {port}: cannot listen on {host}: {exc.strerror or exc}") from None


def simulator_port_problem(argv: list[str]) -> str | None:
    """Why the simulator could not listen where its options say, checked before it prints its banner."""
    from .simulator import parse_args

    args = parse_args(argv)  # its own --help and mistakes are answered here, as the simulator answers them
    try:
        listen(args.host, args.port, "--port").close()
    except UsageError as exc:
        return f"simulator: {exc}"
    return None


def render_command(args: argparse.Namespace) -> int:
    from . import rendering
    from .gallery import render_response
    from .idx_models import NotAnIdxResponse, parse

    path = args.file
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        if isinstance(document, dict) and not any(isinstance(document.get(k), t) for k, t in IDX_MARKERS.items()):
            raise NotAnIdxResponse(f"it has none of {', '.join(IDX_MARKERS)}")
        response = parse(document)
    except OSError as exc:
        return fail(f"cannot read {path}: {exc.strerror}")
    except ValueError as exc:  # bad JSON, or NotAnIdxResponse
        kind = "not an IDX response" if isinstance(exc, NotAnIdxResponse) else "not JSON"
        return fail(f"{path} is {kind}: {exc}")
    env = rendering.create_env(args.theme)
    try:
        print(render_response(env, response, args.lang))
    except rendering.MALFORMED as exc:
        return fail(f"{path} cannot be shown as a page ({type(exc).__name__}: {exc})")
    return 0


def gallery_command(args: argparse.Namespace) -> int:
    from .gallery import DEFAULT_FIXTURES, Gallery, collect, environment, write_site

    fixtures: Path = args.fixtures or DEFAULT_FIXTURES
    if not fixtures.is_dir():
        return fail(f"gallery: no fixtures at {fixtures} (an installed package has none): pass --fixtures DIR")
    out: Path = args.out_dir
    if out.exists() and not out.is_dir():
        return fail(f"gallery: {out} is not a directory")
    languages = list(dict.fromkeys(args.lang or locales.CODES))
    gallery = Gallery(environment(args.theme), collect(fixtures), languages, source=str(fixtures))
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = write_site(out, gallery, args.theme)
    except OSError as exc:
        return fail(f"gallery: cannot write {exc.filename or out}: {exc.strerror}")
    print(
        f"gallery: {written.pages} pages written ({len(gallery.shown())} fixtures x {len(languages)} languages), "
        f"{written.skipped} fixtures skipped, {len(written.missing)} missing text keys; open {out / 'index.html'}"
    )
    if written.missing:
        print(f"embedded: gallery: text keys no catalogue has: {', '.join(sorted(written.missing))}", file=sys.stderr)
        return 1
    return 0


@dataclass
class Demo:
    settings: Settings
    app: web.Application
    simulator_app: web.Application | None
    banner: list[str]  # what to open first, printed once the ports are taken


def build_demo(args: argparse.Namespace, environ: Mapping[str, str]) -> Demo:
    """The demo as `python -m embedded` serves it: against the org the OKTA_IDX_* settings name,
    else against the local simulator, with the page gallery. Raises SettingsError."""
    from .demo import create_app

    app_url = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}/"  # an IPv6 host in brackets
    if configured_in(environ):
        settings = Settings.from_env(environ)
        return Demo(settings, create_app(settings), None, [f"Open {app_url}  (signing in with {settings.issuer})"])
    from .simulator import create_simulator_app, demo_org

    simulator_url = f"http://127.0.0.1:{args.sim_port}"
    issuer = f"{simulator_url}/oauth2/default"
    # The demo client on the simulator; every EMBEDDED_* setting still applies.
    settings = Settings.from_env(
        {
            **environ,
            "OKTA_IDX_ISSUER": issuer,
            "OKTA_IDX_CLIENTID": DEMO_CLIENT_ID,
            "OKTA_IDX_CLIENTSECRET": DEMO_CLIENT_SECRET,
            "OKTA_IDX_SCOPES": " ".join(DEMO_SCOPES),
            "OKTA_IDX_REDIRECTURI": f"{app_url}login/callback",
        }
    )
    org = demo_org()
    first = next((u for u in org.users if u.password), None)
    return Demo(
        settings,
        create_app(settings, simulator=True),
        create_simulator_app(org, issuer=issuer, app_url=settings.app_origin),
        [
            f"Open {app_url}" + (f" and sign in as {first.login} / {first.password}" if first else ""),
            f"  every demo user and how they sign in: {simulator_url}/",
            f"  codes, links and pushes sent:         {simulator_url}/outbox",
            f"  every page at once:                   {app_url}_gallery/",
            "Signing in against the local Identity Engine simulator (a development tool, not an identity provider).",
        ],
    )


def serve_command(args: argparse.Namespace) -> int:
    from . import logformat
    from .web.setup import RUNNER_OPTIONS

    try:
        demo = build_demo(args, os.environ)
        app_socket = listen(args.host, args.port, "--port")
    except (SettingsError, UsageError) as exc:
        return fail(str(exc))
    try:
        sim_socket = listen("127.0.0.1", args.sim_port, "--sim-port") if demo.simulator_app is not None else None
    except UsageError as exc:
        app_socket.close()
        return fail(str(exc))
    logformat.configure(demo.settings.log_format)
    print("\n".join(demo.banner), flush=True)
    # SIGTERM or SIGINT: stop listening, let requests in flight finish (at most
    # shutdown_seconds), then close the upstream and Redis connections (the app's cleanup).
    web.run_app(
        _serve_both(demo.app, sim_socket, demo.simulator_app),
        sock=app_socket,
        print=None,
        access_log_class=RUNNER_OPTIONS["access_log_class"],
        shutdown_timeout=demo.settings.shutdown_seconds,
    )
    return 0


async def _serve_both(
    app: web.Application, sim_socket: socket.socket | None, simulator_app: web.Application | None
) -> web.Application:
    if simulator_app is not None and sim_socket is not None:
        runner = web.AppRunner(simulator_app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sim_socket).start()

        async def stop_simulator(_: web.Application) -> None:
            await runner.cleanup()

        app.on_cleanup.append(stop_simulator)
    app.on_startup.append(freeze_startup_objects)  # last: after the templates are compiled
    return app


# Containers allocated (less those freed) before the cycle collector's youngest pass. A sign-in's
# IDX documents are thousands of short-lived dicts and lists that reference counting frees: at
# Python's default of 700 the collector walked them several times per sign-in (0.37 ms of it, CPU
# time measured in its callbacks); at 10,000 it runs about a tenth as often, each pass a few ms.
YOUNG_OBJECTS = 10_000


async def freeze_startup_objects(_: web.Application) -> None:
    """What starting made (modules, compiled templates, catalogues) lives as long as the process:
    frozen out of the cycle collector's passes, which would otherwise walk it all again each time
    (a full pass took 40-80 ms under load, and every request waiting then waited that long)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def parser() -> Parser:
    serve_options = Parser(add_help=False)
    serve_options.add_argument(
        "--host", default="127.0.0.1", help="the interface the app listens on (default 127.0.0.1)"
    )
    serve_options.add_argument("--port", type=int, default=8080, help="the app's port (default 8080)")
    serve_options.add_argument(
        "--sim-port",
        type=int,
        default=None,
        help="simulator port when no OKTA_IDX_* settings are given (default: port + 1)",
    )
    main = Parser(
        prog="python -m embedded",
        parents=[serve_options],
        description="Sign-in pages for Okta Identity Engine: serve the demo (the default command), preview pages, "
        "or run the simulator or the recorder alone.",
        epilog="`python -m embedded COMMAND --help` describes a command's own options.",
    )
    commands = main.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    commands.add_parser(
        "serve",
        parents=[serve_options],
        help="serve the demo app (the default command)",
        description="Serve the demo app. With no OKTA_IDX_* settings it signs in against the local simulator, "
        "started on --sim-port.",
    )
    theme_options = Parser(add_help=False)
    theme_options.add_argument(
        "--theme",
        action="append",
        type=directory,
        metavar="DIR",
        help="a theme directory; repeat for a parent theme, child first (default: EMBEDDED_THEME_DIRS)",
    )
    render = commands.add_parser(
        "render",
        parents=[theme_options],
        help="print the page the app shows for an IDX response",
        description="Print the HTML page the app renders for one IDX response (a JSON file).",
    )
    render.add_argument("file", metavar="FILE.json", help="an IDX response, as the Identity Engine sends it")
    render.add_argument(
        "--lang",
        type=language,
        default=locales.DEFAULT,
        help=f"the page's language, one of {', '.join(locales.CODES)} (default {locales.DEFAULT})",
    )
    gallery = commands.add_parser(
        "gallery",
        parents=[theme_options],
        help="write every fixture's page as a static site",
        description="Write a static site: an index and one page per IDX fixture and language, as the app renders them. "
        "Exits 1 when a text key has no text in any catalogue.",
    )
    gallery.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where to write the site (made if missing)")
    gallery.add_argument(
        "--fixtures",
        type=directory,
        metavar="DIR",
        help="a directory of IDX JSON files, read recursively (default: the project's tests/fixtures)",
    )
    gallery.add_argument(
        "--lang",
        action="append",
        type=language,
        metavar="LANG",
        help=f"a language to render; repeat for more (default: all of {', '.join(locales.CODES)})",
    )
    commands.add_parser("simulator", add_help=False, help="run the local Identity Engine simulator alone")
    commands.add_parser("record", add_help=False, help="record an org's IDX traffic as replayable fixtures")
    return main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args, rest = parser().parse_known_args(argv)
        if args.command not in OWN_PARSERS and rest:
            raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
        if args.command in ("render", "gallery"):
            args.theme = args.theme or themes_from_env(os.environ)
    except UsageError as exc:
        return fail(str(exc))
    except SystemExit as exc:  # --help was answered
        return int(exc.code or 0)
    if args.command == "simulator":
        from .simulator import main as simulator_main

        if (why := simulator_port_problem(rest)) is not None:
            return fail(why)
        return simulator_main(rest)
    if args.command == "record":
        from .testing.record import main as record_main

        return record_main(rest)
    if args.command == "render":
        return render_command(args)
    if args.command == "gallery":
        return gallery_command(args)
    if args.sim_port is None:
        args.sim_port = args.port + 1
    return serve_command(args)


if __name__ == "__main__":
    sys.exit(main())
