"""Imports flow one way: each package of cslir/ imports only itself and the layers below it.

The layers, lowest first (DESIGN.md, "Architecture"; each package's ``__init__`` says the same):
a module may import from its own package and from any lower rank, never from its own rank's
other packages or from above. Lazy imports inside functions count: they are arrows too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cslir"

LAYERS: list[tuple[str, ...]] = [
    ("base",),
    ("engine",),
    ("opsrepo", "store"),
    ("notify", "probes", "trust"),
    ("runs", "report"),
    ("drills",),
    ("terminal",),
    ("commands",),
]
RANK = {package: rank for rank, names in enumerate(LAYERS) for package in names}
TOP = len(LAYERS)  # cslir/__main__.py: the entry point sits above everything

# The engine is pure: no storage, network, terminal or YAML, and no wall clock.
ENGINE_FORBIDDEN = {"yaml", "sqlite3", "requests", "click", "apscheduler", "psycopg", "socket"}
WALL_CLOCK = ("datetime.now(", "dt.datetime.now(", "time.time(", "date.today(", "utcnow(")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def package_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def rank_of(package: str) -> int:
    if package == "__main__":
        return TOP
    if package == "__init__":
        return -1
    if package not in RANK:
        raise AssertionError(f"cslir/{package} is in no layer: add it to LAYERS in {__file__}")
    return RANK[package]


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cslir":  # from cslir import x: x is a package or a name
                found += [(node.lineno, f"cslir.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def upward_arrows(path: Path) -> list[str]:
    own = package_of(path)
    arrows = []
    for line, module in imported(path):
        parts = module.split(".")
        if parts[0] != "cslir" or len(parts) < 2 or parts[1] == "__version__":
            continue
        target = parts[1]
        if target != own and rank_of(target) >= rank_of(own):
            shown = path.relative_to(PACKAGE.parent)
            arrows.append(f"{shown}:{line}: {own} (rank {rank_of(own)}) imports {module} "
                          f"(rank {rank_of(target)})")  # fmt: skip
    return arrows


def test_every_package_has_a_layer() -> None:
    for path in modules():
        rank_of(package_of(path))


def test_no_module_imports_a_higher_or_sibling_layer() -> None:
    assert [arrow for path in modules() for arrow in upward_arrows(path)] == []


def test_the_engine_imports_no_storage_network_terminal_or_yaml() -> None:
    bad = [
        f"{path.name}:{line}: {module}"
        for path in (PACKAGE / "engine").glob("*.py")
        for line, module in imported(path)
        if module.split(".")[0] in ENGINE_FORBIDDEN
    ]
    assert bad == []


def test_the_engine_reads_no_wall_clock() -> None:
    bad = [
        f"{path.name}:{number}: {line.strip()}"
        for path in (PACKAGE / "engine").glob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(call in line for call in WALL_CLOCK)
    ]
    assert bad == []


def test_base_imports_nothing_but_the_standard_library() -> None:
    import sys

    bad = [
        f"{path.name}:{line}: {module}"
        for path in (PACKAGE / "base").glob("*.py")
        for line, module in imported(path)
        if module.split(".")[0] not in sys.stdlib_module_names
        and module != "__future__"
        and not (module == "cslir.base" or module.startswith("cslir.base."))  # its own package
    ]
    assert bad == []


@pytest.mark.parametrize(
    ("source", "arrow"),
    [
        ("from cslir.commands.app import App\n", "engine (rank 1) imports cslir.commands.app"),
        ("def f():\n    from cslir.store import sqlite\n", "engine (rank 1) imports cslir.store"),
        ("from cslir import runs\n", "engine (rank 1) imports cslir.runs (rank 4)"),
    ],
)
def test_the_checker_sees_an_upward_arrow(tmp_path: Path, source: str, arrow: str) -> None:
    global PACKAGE
    fake = tmp_path / "cslir"
    (fake / "engine").mkdir(parents=True)
    (fake / "engine" / "bad.py").write_text(source, encoding="utf-8")
    saved, PACKAGE = PACKAGE, fake
    try:
        [found] = upward_arrows(fake / "engine" / "bad.py")
    finally:
        PACKAGE = saved
    assert arrow in found
