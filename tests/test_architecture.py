"""The layer rules of the design sketch, checked by reading every module's source.

    api ──▶ runtime ──▶ interpreter (pure)      runtime ──▶ integrations ──▶ interpreter types
    api ──▶ store ──▶ interpreter types
    api, runtime ──▶ events (pure: EventBridge patterns, envelopes, transformers, schedules)
    api ──▶ build ──▶ interpreter (the builder writes definitions, checked by the validator)

``durable.errors`` is the shared exception root, importable from every layer. The rules cannot
be walked around: no new top-level module may re-export across layers, no module imports by
name at run time (``importlib``, ``__import__``) except the two that load user code and
plugins, and the pure layers (interpreter, events) read no clock and draw no random number,
whatever they import.
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
    "runtime": {"runtime", "interpreter", "integrations", "store", "events"},
    "api": {
        "api",
        "server",
        "runtime",
        "interpreter",
        "integrations",
        "store",
        "testing",
        "events",
        "build",
        "ui",
    },  # testing: `durable test`; build: definitions written with durable.build; ui: `durable ui`
    # EventBridge's pure core (patterns, envelopes, transformers, schedules): like the interpreter
    "events": {"events"},
    # the HTTP endpoint goes through the engine's API, never to the store (its /ui: the pages)
    "server": {"server", "runtime", "ui"},
    # the web pages read through a session's API (never the store) and draw with the builder
    "ui": {"ui", "runtime", "build"},
    "testing": {"testing", "runtime", "interpreter", "integrations", "store"},
    # the builder writes definitions and checks them with the interpreter's validator: pure
    "build": {"build", "interpreter"},
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


PURE_LAYERS = {"interpreter", "events"}


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
        elif layer in PURE_LAYERS and parts[0] in FORBIDDEN_IN_INTERPRETER:
            pytest.fail(
                f"{path.relative_to(PACKAGE)}:{line}: the {layer} layer must stay pure, not import '{name}'"
            )


TOP_LEVEL = {"__init__.py", "errors.py"}  # the façade and the shared exception root
# importing by name at run time, allowed only where user code and plugins are loaded
DYNAMIC_IMPORTS = {"api/cli_common.py": "importlib", "integrations/registry.py": "importlib.metadata"}
# reading the time or drawing randomness, whatever module it comes from
IMPURE_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter", "random", "urandom"}


def test_no_top_level_module_but_the_facade_and_the_errors() -> None:
    extra = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in TOP_LEVEL)
    assert not extra, f"new top-level modules bypass the layers: {extra} (put them in a layer)"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_by_name_at_run_time(path: Path) -> None:
    rel = str(path.relative_to(PACKAGE))
    allowed = DYNAMIC_IMPORTS.get(rel)
    for name, line in _imports(path):
        if name == "importlib" or name.startswith("importlib."):
            if allowed is None or not (name == allowed or name.startswith(allowed + ".")):
                pytest.fail(f"{rel}:{line}: imports {name!r}: import modules statically (layers are checked)")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            pytest.fail(f"{rel}:{node.lineno}: __import__ walks around the layer rules")


@pytest.mark.parametrize(
    "path",
    sorted([*(PACKAGE / "interpreter").glob("*.py"), *(PACKAGE / "events").glob("*.py")]),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_interpreter_reads_no_clock_and_draws_no_randomness(path: Path) -> None:
    """Time and randomness come in as arguments (``ctx.services``): e.g. ``datetime.now()`` or
    ``random.random()`` would make a replay diverge from the recorded run."""
    rel = path.relative_to(PACKAGE)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr in IMPURE_CALLS and not _is_services(owner):
                pytest.fail(f"{rel}:{node.lineno}: calls .{node.func.attr}() (take it from ctx.services)")


def _is_services(node: ast.expr) -> bool:
    """``services.now()``, ``ctx.services.random()``, ``self.services...``: the injected ones."""
    return (isinstance(node, ast.Attribute) and node.attr == "services") or (
        isinstance(node, ast.Name) and node.id == "services"
    )


def test_public_namespace_is_explicit() -> None:
    import durable

    assert sorted(durable.__all__) == sorted(set(durable.__all__))
    for name in durable.__all__:
        assert hasattr(durable, name), name
    # (a name that is not an identifier, such as pytest's "@py_builtins" when the installed pytest
    # plugin has pytest rewrite the package's modules, is no attribute Python code can name)
    public = {n for n in vars(durable) if not n.startswith("_") and n.isidentifier()}
    # nothing public leaks beyond __all__ except the layer subpackages and the errors module
    assert public - set(durable.__all__) <= {
        "errors",
        "interpreter",
        "runtime",
        "integrations",
        "api",
        "store",
        "server",
        "testing",
        "events",
        "build",
        "ui",
    }
