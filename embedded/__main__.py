"""Command line: serve the app, preview a page, or run the simulator alone.

    python -m embedded [--host H] [--port N] [--sim-port M]
    python -m embedded render FILE.json
    python -m embedded simulator [--port N] [--org FILE]
    python -m embedded record --issuer URL --out DIR [--port N] [--name NAME]

With no OKTA_IDX_* settings the app signs in against the local simulator, started
in the same process on --sim-port (default: the app port + 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from aiohttp import web

from .config import Settings, SettingsError, configured_in

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"
DEMO_SCOPES = ("openid", "profile", "email", "offline_access")


def fail(message: str) -> int:
    print(f"embedded: {message}", file=sys.stderr)
    return 2


def render_command(path: str) -> int:
    from . import flow, rendering
    from .idx_models import NotAnIdxResponse, parse

    try:
        with open(path, encoding="utf-8") as f:
            response = parse(json.load(f))
    except OSError as exc:
        return fail(f"cannot read {path}: {exc.strerror}")
    except ValueError as exc:  # bad JSON, or NotAnIdxResponse
        kind = "not an IDX response" if isinstance(exc, NotAnIdxResponse) else "not JSON"
        return fail(f"{path} is {kind}: {exc}")
    env = rendering.create_env(os.environ.get("EMBEDDED_TEMPLATE_DIR"))
    names, context = rendering.step_context(response, flow.decide(response), version=0)
    print(rendering.render(env, names, {**context, "csrf_token": "preview", "csp_nonce": "preview", "notices": []}))
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from . import logformat
    from .demo import create_app
    from .web.setup import RUNNER_OPTIONS

    simulator_app = None
    try:
        if configured_in(os.environ):
            settings = Settings.from_env()
        else:
            from .simulator import create_simulator_app, demo_org, describe_org

            issuer = f"http://127.0.0.1:{args.sim_port}/oauth2/default"
            # The demo client on the simulator; every EMBEDDED_* setting still applies.
            settings = Settings.from_env({
                **os.environ,
                "OKTA_IDX_ISSUER": issuer,
                "OKTA_IDX_CLIENTID": DEMO_CLIENT_ID,
                "OKTA_IDX_CLIENTSECRET": DEMO_CLIENT_SECRET,
                "OKTA_IDX_SCOPES": " ".join(DEMO_SCOPES),
                "OKTA_IDX_REDIRECTURI": f"http://{args.host}:{args.port}/login/callback",
            })
            org = demo_org()
            simulator_app = create_simulator_app(org, issuer=issuer, app_url=settings.app_origin)
            print("No OKTA_IDX_* settings: signing in against the local Identity Engine simulator")
            print("(a development tool, not an identity provider).")
            print(f"  simulator: http://127.0.0.1:{args.sim_port}/  (sent codes and pushes: /outbox)")
            print(describe_org(org))
    except SettingsError as exc:
        return fail(str(exc))
    logformat.configure(settings.log_format)
    try:
        app = create_app(settings)
    except SettingsError as exc:
        return fail(str(exc))
    print(f"  app:       http://{args.host}:{args.port}/", flush=True)
    # SIGTERM or SIGINT: stop listening, let requests in flight finish (at most
    # shutdown_seconds), then close the upstream and Redis connections (the app's cleanup).
    web.run_app(_serve_both(app, args, simulator_app), host=args.host, port=args.port, print=None,
                access_log_class=RUNNER_OPTIONS["access_log_class"], shutdown_timeout=settings.shutdown_seconds)
    return 0


async def _serve_both(app: web.Application, args: argparse.Namespace, simulator_app: web.Application | None) -> web.Application:
    if simulator_app is not None:
        runner = web.AppRunner(simulator_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.sim_port).start()

        async def stop_simulator(_: web.Application) -> None:
            await runner.cleanup()

        app.on_cleanup.append(stop_simulator)
    return app


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["render"]:
        if len(argv) != 2:
            return fail("usage: python -m embedded render FILE.json")
        return render_command(argv[1])
    if argv[:1] == ["simulator"]:
        from .simulator import main as simulator_main

        return simulator_main(argv[1:])
    if argv[:1] == ["record"]:
        from .testing.record import main as record_main

        return record_main(argv[1:])
    parser = argparse.ArgumentParser(prog="embedded", description="Serve the sign-in app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--sim-port", type=int, default=None, help="simulator port when no OKTA_IDX_* settings are given (default: port + 1)")
    args = parser.parse_args(argv)
    if args.sim_port is None:
        args.sim_port = args.port + 1
    return serve_command(args)


if __name__ == "__main__":
    sys.exit(main())
