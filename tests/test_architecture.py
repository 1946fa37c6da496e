"""The layer rules of the design sketch, checked by reading every module's imports.

    api ──▶ runtime ──▶ interpreter (pure)      runtime ──▶ integrations ──▶ interpreter types
    api ──▶ store ──▶ interpreter types

``durable.errors`` is the shared exception root, importable from every layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "durable"

# layer -> layers of durable it may import
ALLOWED = {
    "interpreter": {"interpreter"},
    "store": {"store", "interpreter"},
    "integrations": {"integrations", "interpreter"},
    "runtime": {"runtime", "interpreter", "integrations", "store"},
    "api": {"api", "runtime", "interpreter", "integrations", "store"},
    "testing": {"testing", "api", "runtime", "interpreter", "integrations", "store"},
}
SHARED = {"errors"}
# the pure core never touches time, randomness, ids, the OS or an event loop
FORBIDDEN_IN_INTERPRETER = {
    "time",
    "random",
    "uuid",
    "os",
    "asyncio",
    "anyio",
    "aiosqlite",
    "structlog",
    "secrets",
    "threading",
    "socket",
    "subprocess",
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute dotted names this module imports (relative imports resolved)."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    package = parts if path.name == "__init__.py" else parts[:-1]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((name, node.lineno))
            if node.module is None or node.level:
                out.extend((f"{name}.{alias.name}", node.lineno) for alias in node.names)
    return out


def _layer(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layer_imports(path: Path) -> None:
    layer = _layer(path)
    if layer is None:
        return  # top-level modules (the public surface) may import any layer
    for name, line in _imports(path):
        parts = name.split(".")
        if parts[0] == "durable" and len(parts) > 1:
            target = parts[1]
            if target in SHARED:
                continue
            if target in ALLOWED and target not in ALLOWED[layer]:
                pytest.fail(f"{path.relative_to(PACKAGE)}:{line}: layer '{layer}' must not import '{name}'")
        elif layer == "interpreter" and parts[0] in FORBIDDEN_IN_INTERPRETER:
            pytest.fail(
                f"{path.relative_to(PACKAGE)}:{line}: the interpreter must stay pure, not import '{name}'"
            )


def test_public_namespace_is_explicit() -> None:
    import durable

    assert sorted(durable.__all__) == sorted(set(durable.__all__))
    for name in durable.__all__:
        assert hasattr(durable, name), name
    public = {n for n in vars(durable) if not n.startswith("_")}
    # nothing public leaks beyond __all__ except the layer subpackages and the errors module
    assert public - set(durable.__all__) <= {
        "errors",
        "interpreter",
        "runtime",
        "integrations",
        "api",
        "store",
        "testing",
    }
