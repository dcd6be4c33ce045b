"""How the package is put together: the pure core imports no web framework, no module is
too long to read, and no two modules import each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "embedded"
PURE_CORE = ("idx_models", "forms", "flow", "page", "devices", "policy", "config", "urls", "captcha")
MAX_LINES = 450  # at ruff format's 120 columns (the measure was taken at 160)


def test_the_pure_core_imports_no_aiohttp():
    imports = ", ".join(f"embedded.{m}" for m in PURE_CORE)
    code = f"import sys, {imports}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'aiohttp_session', 'aiohttp_jinja2', 'jinja2')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_module_outside_the_simulator_is_over_max_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if "simulator" not in p.parts and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def local_imports(path: Path) -> set[str]:
    """The package modules `path` imports at module level (TYPE_CHECKING blocks excluded)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("embedded"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(
                        candidate
                        if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                        else base
                    )
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("embedded")}
    return found - {module}


def test_no_import_cycles():
    graph = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): local_imports(p)
        for p in PACKAGE.rglob("*.py")
    }
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycles.append([*trail[trail.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*trail, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    assert cycles == []
