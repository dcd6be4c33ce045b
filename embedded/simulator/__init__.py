"""A local Okta Identity Engine: speaks the IDX interaction-code and OAuth protocol, driven by an
org definition (users, authenticators, policies). A development tool, not an identity provider.
It imports nothing from the app, so the two implementations of the protocol check each other."""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from .faults import KINDS as FAULT_KINDS
from .faults import Faults
from .org import Org, OrgError, demo_org, describe_org, load_org
from .server import SIMULATOR, Simulator, build_app

__all__ = ["SIMULATOR", "Org", "Simulator", "create_simulator_app", "demo_org", "describe_org", "load_org", "main"]

DEFAULT_PORT = 8081


def create_simulator_app(org: Org | None = None, *, issuer: str | None = None) -> web.Application:
    """The simulator as an aiohttp app. `org=None` serves the demo org; `issuer=None` derives the
    issuer from each request's origin (`<scheme>://<host>/oauth2/default`)."""
    return build_app(org, issuer=issuer)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="embedded simulator",
                                description="Local Okta Identity Engine simulator (development tool, not an identity provider).")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--org", help="org definition TOML (default: the demo org)")
    p.add_argument("--issuer", help="fixed issuer URL (default: derived from each request)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added latency on protocol endpoints")
    for kind in FAULT_KINDS:
        p.add_argument(f"--fail-{kind}", type=float, default=0.0, metavar="SHARE",
                       help=f"share (0..1) of protocol requests answered with {kind}")
    p.add_argument("--seed", type=int, help="random seed for fault injection")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        org = load_org(args.org) if args.org else demo_org()
        faults = Faults(latency_ms=args.latency_ms, seed=args.seed,
                        rates={k: getattr(args, "fail_" + k) for k in FAULT_KINDS if getattr(args, "fail_" + k)})
    except (OSError, OrgError, ValueError) as e:
        print(f"simulator: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_simulator_app(org, issuer=args.issuer)
    app[SIMULATOR].faults = faults
    origin = args.issuer or f"http://{args.host}:{args.port}/oauth2/default"
    print(f"{describe_org(org)}\nIssuer: {origin}\nOutbox: {origin.split('/oauth2')[0]}/outbox", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0
