"""A plain, non-editable install still finds templates/ and static/."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, SHARED_FIXTURES


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
        "assert (r.STATIC_DIR / 'css' / 'embedded.css').is_file() and (r.STATIC_DIR / 'js' / 'poll.js').is_file()"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    subprocess.run([sys.executable, "-c", probe, str(target)], check=True, env=env, cwd=tmp_path, timeout=60)
    page = subprocess.run([sys.executable, "-m", "embedded", "render", str(SHARED_FIXTURES / "identify.json")], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert page.returncode == 0 and "<!-- template: steps/identify.html -->" in page.stdout
