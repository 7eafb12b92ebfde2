"""Each DVC stage declares the library code it runs: every ``bertvsgpt`` module its entry point
imports (directly or through other ``bertvsgpt`` modules, at any depth, including imports inside
functions) lies under one of the stage's ``deps``, so editing that code re-runs the stage.

``bertvsgpt.cli``, ``bertvsgpt.config`` and ``bertvsgpt.tracking`` are exempt: they parse params
(which DVC tracks per key) and talk to MLflow, and never change a stage's outputs; so is what only
they import (the closure does not follow their imports: a module the stage itself uses is reached
through the stage's own imports), and a package ``__init__.py`` that holds only its docstring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
EXEMPT = ("src/bertvsgpt/cli.py", "src/bertvsgpt/config/", "src/bertvsgpt/tracking/", "src/bertvsgpt/__init__.py")


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """``bertvsgpt.*`` modules a file imports, absolute or relative, anywhere in the file."""
    tree = ast.parse(path.read_text())
    package = list(path.relative_to(SRC).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bertvsgpt"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("bertvsgpt"):
                continue
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # `from .pkg import module`
    return found


def closure(entry: Path) -> set[str]:
    """Repository-relative paths of every bertvsgpt file an entry point reaches through imports."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if str(path.relative_to(ROOT)).startswith(EXEMPT):
            continue
        for name in imported_modules(path) if path.is_relative_to(SRC) else entry_imports(path):
            parts = name.split(".")
            for i in range(2, len(parts) + 1):  # a module's packages run their __init__ too
                f = module_file(".".join(parts[:i]))
                if f is not None and f not in seen:
                    todo.append(f)
    return {str(p.relative_to(ROOT)) for p in seen if p.is_relative_to(SRC) and not docstring_only(p)}


def docstring_only(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def entry_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bertvsgpt"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bertvsgpt"))
    return found


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_declares_the_library_code_it_runs(name):
    stage = stages()[name]
    body = stage.get("do", stage)
    entry = ROOT / (body["cmd"].split()[2].replace(".", "/") + ".py")
    deps = [str(d).replace("${item}", "X") for d in body.get("deps", [])]
    assert str(entry.relative_to(ROOT)) in deps, f"{name}: the entry point itself is not a dep"
    missing = sorted(
        f for f in closure(entry)
        if not f.startswith(EXEMPT) and not any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps)
    )
    assert not missing, f"stage {name} runs code it does not declare in deps: {missing}"


@pytest.mark.parametrize("name", sorted(stages()))
def test_every_declared_code_dep_exists(name):
    """A dep on a moved or deleted file makes ``dvc repro`` stop; a code path in deps must exist."""
    body = stages()[name].get("do", stages()[name])
    code = [str(d) for d in body.get("deps", []) if str(d).startswith(("src/", "pipeline/"))]
    gone = [d for d in code if not (ROOT / d).exists()]
    assert not gone, f"stage {name} declares deps that do not exist: {gone}"
