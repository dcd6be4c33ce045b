"""`make dist`: an sdist and a wheel (the distribution embedded-idx-signin, imported as `embedded`)
built with no warning; the wheel carries every file of the package, the templates, static files and
translations, the simulator with its org file and templates, the test kit with its pytest plugin
and the demo recordings it ships, and a `py.typed` marker; installed without the repository, it
still finds all of them. (tests/test_wheel_install.py: the wheel in a fresh venv, used as a host
team uses it.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import RECORDED, ROOT

DIST_NAME = "embedded-idx-signin"
# Where each source directory lands in the wheel: the package, and the two data trees mapped into it.
SHIPPED = {"embedded": "embedded", "templates": "embedded/templates", "static": "embedded/static"}
# "Warning" as a word (BuildBackendWarning:, warning: ...), not inside a file name (...-warning.html).
WARNING = re.compile(r"(?im)^.*\w*warning\b(?![-.\w]).*$")


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path
    output: str  # what the build printed, stdout and stderr


def build_dist(out: Path) -> Dist:
    """What `make dist` does: an sdist, and a wheel built from that sdist (so the sdist is complete)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--quiet", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=out.parent,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return Dist(wheel, sdist, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Dist:
    return build_dist(tmp_path_factory.mktemp("dist") / "dist")


def source_files() -> set[str]:
    """The files the package is made of, tracked or new (not ignored), as their wheel paths."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *SHIPPED],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.split()
    out = set()
    for name in listed:
        top, _, rest = name.partition("/")
        if (ROOT / name).is_file():
            out.add(f"{SHIPPED[top]}/{rest}")
    return out


def test_the_build_warns_of_nothing(dist):
    assert WARNING.findall(dist.output) == []
    assert dist.wheel.name == "embedded_idx_signin-0.1.0-py3-none-any.whl"


def test_the_wheel_carries_every_file_of_the_package_and_nothing_else(dist):
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
        meta = "embedded_idx_signin-0.1.0.dist-info/"
        entry_points = wheel.read(meta + "entry_points.txt").decode()
        metadata = wheel.read(meta + "METADATA").decode()
    assert {n for n in names if not n.startswith(meta)} == source_files()
    for must in (
        "embedded/py.typed",
        "embedded/templates/base.html",
        "embedded/templates/steps/identify.html",
        "embedded/templates/messages/ja.json",  # translations
        "embedded/static/css/embedded.css",
        "embedded/static/js/poll.js",
        "embedded/simulator/demo_org.toml",
        "embedded/simulator/templates/signin.html",
        "embedded/testing/plugin.py",
        "embedded/testing/demo-recordings/manifest.json",
        "embedded/testing/demo-recordings/password/03-challenge-answer.json",
    ):
        assert must in names, must
    assert "[pytest11]\nembedded = embedded.testing.plugin" in entry_points
    assert "[console_scripts]\nembedded = embedded.__main__:main" in entry_points
    assert f"Name: {DIST_NAME}\n" in metadata and "Provides-Extra: testing" in metadata


def test_the_wheel_installed_without_the_repository_finds_its_files(dist, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(dist.wheel)],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    probe = (
        "import embedded.rendering as r, sys;"
        "assert r.TEMPLATES_DIR.is_relative_to(sys.argv[1]), r.TEMPLATES_DIR;"
        "assert (r.TEMPLATES_DIR / 'base.html').is_file() and (r.TEMPLATES_DIR / 'messages' / 'en.json').is_file();"
        "assert (r.STATIC_DIR / 'css' / 'embedded.css').is_file() and (r.STATIC_DIR / 'js' / 'poll.js').is_file();"
        "import embedded.testing.plugin as p, importlib.metadata as m;"
        "assert p.__file__.startswith(sys.argv[1]), p.__file__;"
        "from embedded.testing import DEMO_RECORDINGS, Recording;"
        "assert DEMO_RECORDINGS.is_relative_to(sys.argv[1]) and 'password' in Recording(DEMO_RECORDINGS).names;"
        "from embedded.simulator import demo_org; assert demo_org().users;"
        f"d = m.distribution({DIST_NAME!r});"
        "assert [e.value for e in d.entry_points if e.group == 'pytest11'] == ['embedded.testing.plugin'];"
        "assert any('extra == \"testing\"' in r for r in d.requires)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    subprocess.run([sys.executable, "-c", probe, str(target)], check=True, env=env, cwd=tmp_path, timeout=60)
    page = subprocess.run(
        [sys.executable, "-m", "embedded", "render", str(RECORDED.directory / "password" / "01-introspect.json")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert page.returncode == 0 and "<!-- template: steps/identify.html -->" in page.stdout
