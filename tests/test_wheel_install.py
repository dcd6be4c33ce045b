"""The built wheel as a host team uses it: installed with its `testing` extra into a fresh venv
outside the repository (its dependencies from the package index), then (a) the README's ten-line
host, under a prefix other than /auth, signs alice in against the installed simulator, each in a
process of the venv; (b) a host's own test suite (examples/host_app.py and its tests, copied out)
passes with the installed pytest plugin and the recordings the package ships. One venv serves
both; where no package index answers, the module is skipped with one reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from conftest import ROOT
from test_host_app import Person
from test_packaging import build_dist
from test_readme_host import free_port, readme_host_snippet, wait_for

PREFIX = "/account"


@dataclass(frozen=True)
class Venv:
    root: Path
    python: Path
    work: Path  # an empty directory outside the repository, to run things from

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a host's own process has: none of this repository's settings or paths."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_", "PYTHON"))}
        return {**keep, "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    root = tmp_path_factory.mktemp("host-venv")
    dist = build_dist(root / "dist")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    python = root / "venv" / "bin" / "python"
    probe = subprocess.run(
        [python, "-m", "pip", "index", "versions", "aiohttp", "--timeout", "15", "--retries", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"no package index answers ({why}): the wheel's dependencies cannot be installed")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", f"{dist.wheel}[testing]"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=root,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    work = root / "work"
    work.mkdir()
    return Venv(root, python, work)


def test_the_package_comes_from_the_venv(venv):
    where = subprocess.run(
        [venv.python, "-c", "import embedded, embedded.testing.plugin as p; print(embedded.__file__, p.__file__)"],
        capture_output=True,
        text=True,
        cwd=venv.work,
        env=venv.env(),
        check=True,
        timeout=60,
    ).stdout.split()
    assert all(Path(w).is_relative_to(venv.root / "venv") for w in where), where
    assert not any(Path(w).is_relative_to(ROOT) for w in where)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        p.terminate()
        p.communicate(timeout=30)


async def test_the_readme_host_under_another_prefix_signs_in_against_the_installed_simulator(venv, processes):
    snippet = readme_host_snippet()
    assert 'prefix="/auth"' in snippet and "port=8000" in snippet
    app_port, sim_port = free_port(), free_port()
    host = venv.work / "host.py"
    host.write_text(
        snippet.replace('prefix="/auth"', f'prefix="{PREFIX}"').replace(
            "port=8000", f"host='127.0.0.1', port={app_port}"
        )
    )
    run = {"cwd": venv.work, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    processes.append(
        subprocess.Popen([venv.python, "-m", "embedded", "simulator", "--port", str(sim_port)], env=venv.env(), **run)
    )
    await wait_for(f"http://127.0.0.1:{sim_port}/oauth2/default/.well-known/openid-configuration", processes[0])
    settings = {
        "OKTA_IDX_ISSUER": f"http://127.0.0.1:{sim_port}/oauth2/default",
        "OKTA_IDX_CLIENTID": "demo-client",
        "OKTA_IDX_CLIENTSECRET": "demo-secret",
        "OKTA_IDX_REDIRECTURI": f"http://127.0.0.1:{app_port}{PREFIX}/login/callback",
    }
    processes.append(subprocess.Popen([venv.python, str(host)], env=venv.env(**settings), **run))
    base = f"http://127.0.0.1:{app_port}"
    await wait_for(base + PREFIX + "/static/css/embedded.css", processes[1])
    async with aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        person = Person(http, PREFIX, None)
        await person.get("/private")
        assert person.url.path == PREFIX + "/login/step", person.html
        await person.submit(identifier="alice@example.com")
        await person.submit(**{"credentials.passcode": "Alice-Passw0rd!"})
        assert person.url.path == "/private" and person.html == "Hello alice@example.com", person.html


def test_a_host_suite_passes_with_the_installed_plugin_and_the_shipped_recordings(venv):
    suite = venv.work / "host-suite"
    suite.mkdir()
    for name in ("host_app.py", "test_example_host.py"):
        shutil.copy(ROOT / "examples" / name, suite / name)
    (suite / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    done = subprocess.run(
        [venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=suite,
        env=venv.env(),
        timeout=600,
    )
    assert done.returncode == 0 and "4 passed" in done.stdout, done.stdout + done.stderr
