"""A plain, non-editable install still finds templates/ and static/, and carries the test kit and its pytest plugin."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import RECORDED, ROOT


def test_non_editable_install_carries_templates_and_static(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
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
        "d = next(d for d in m.distributions(path=[sys.argv[1]]) if d.metadata['Name'] == 'embedded');"
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
