"""How the package is put together: the pure core imports no web framework, no module is
too long to read, and no two modules import each other (in the simulator, not even for type
checking or inside a function)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "embedded"
PURE_CORE = (
    "idx_models",
    "forms",
    "flow",
    "page",
    "devices",
    "policy",
    "config",
    "urls",
    "captcha",
    "direct",
    "page_cache",
)
MAX_LINES = 450  # at ruff format's 120 columns (the measure was taken at 160)


def test_the_pure_core_imports_no_aiohttp():
    imports = ", ".join(f"embedded.{m}" for m in PURE_CORE)
    frameworks = ("aiohttp", "aiohttp_session", "aiohttp_jinja2", "jinja2")
    code = f"import sys, {imports}; print(sorted(m for m in sys.modules if m.split('.')[0] in {frameworks!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_module_outside_the_simulator_is_over_max_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if "simulator" not in p.parts and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def local_imports(path: Path, everywhere: bool = False) -> set[str]:
    """The package modules `path` imports at module level (TYPE_CHECKING blocks excluded), or with
    `everywhere` every import statement in it (type-checking blocks and function bodies too)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree) if everywhere else tree.body:
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


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    done: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            found.append([*trail[trail.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*trail, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def test_no_import_cycles():
    assert cycles({module_name(p): local_imports(p) for p in PACKAGE.rglob("*.py")}) == []


def test_no_import_cycles_among_the_simulators_modules_even_for_type_checking():
    """The simulator's core (engine, submissions, documents, transaction, authenticators) is
    layered: a module below never names one above, not even in a TYPE_CHECKING block."""
    simulator = PACKAGE / "simulator"
    graph = {module_name(p): local_imports(p, everywhere=True) for p in simulator.rglob("*.py")}
    assert len(graph) > 20
    assert cycles(graph) == []
