"""The house's layers run one way, in pieces of a readable size. Each module's imports (module
level and inside functions) are read from its source and checked against the layer it sits in:

    bench                      benchmarks, on top
    ui                         entry points (web, API, CLI) and the composition root
    eval                       evaluation (given the services it measures)
    assistant | ingest         the question side and ingestion, side by side
    assistant.core             the shared core

A module imports only from its own layer or below, and the question side and ingestion never
import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "ingest", "ui", "eval", "bench")


def layer(module: str) -> tuple[int, str]:
    """(height, room) of a module of this project."""
    if module == "assistant.core" or module.startswith("assistant.core."):
        return 0, "core"
    top = module.split(".")[0]
    return {"assistant": (1, "assistant"), "ingest": (1, "ingest"), "eval": (2, "eval"), "ui": (3, "ui"), "bench": (4, "bench")}[top]


def imports_of(path: Path, module: str) -> set[str]:
    """Project modules ``path`` imports, wherever in the file the import stands."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES and _is_module(m)}


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module or package of this checkout (not a name imported from one)."""
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


def test_imports_run_down_the_layers_only():
    wrong = []
    for module, path in sorted(modules().items()):
        height, room = layer(module)
        for target in sorted(imports_of(path, module)):
            t_height, t_room = layer(target)
            if t_height > height or (t_height == height == 1 and t_room != room):
                wrong.append(f"{module} ({room}) imports {target} ({t_room})")
    assert not wrong, "\n".join(wrong)


def test_the_walk_sees_imports_inside_functions(tmp_path):
    # The check itself: an import inside a function counts like one at the top.
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from ui.services import build_services\n", encoding="utf-8")
    assert "ui.services" in imports_of(source, "assistant.m")


#: Longest function outside bench/, in lines (docstring included): one that runs longer does
#: several jobs, and each should get a name.
MAX_FUNCTION_LINES = 80


def test_no_function_runs_over_eighty_lines():
    long = []
    for module, path in sorted(modules().items()):
        if module.startswith("bench"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert not long, "\n".join(long)
