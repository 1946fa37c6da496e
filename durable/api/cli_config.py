"""The ``durable`` configuration file: settings a project's commands share, so they need no flags.

The file is ``.durable.toml`` in the current directory or the nearest parent that has one, or
the ``[tool.durable]`` table of a ``pyproject.toml`` found on the way (in one directory
``.durable.toml`` comes first)::

    db = "var/app.db"                            # --db (or "postgresql://user@host/name")
    functions = ["tasks", "greet=lib.hello:greet"]  # --functions MODULE / --function NAME=module:attr
    mocks = "tests/MockConfigFile.json"          # durable test's MOCKCONFIG
    region = "eu-west-1"                         # durable serve --region
    account = "123456789012"                     # durable serve --account

    [substitutions]                              # --substitution KEY=VALUE
    TableName = "orders"

    [local_buckets]                              # durable run --local-bucket NAME=DIR
    my-bucket = "data"                           # S3 bucket -> a local directory

    [deploy]                                     # durable deploy (and validate --portable)
    role_arn = "arn:aws:iam::123456789012:role/sfn"   # --role-arn
    region = "eu-west-1"                         # --region
    endpoint_url = "https://states.eu-west-1.amazonaws.com"  # --endpoint-url
    functions = { greet = "arn:aws:lambda:eu-west-1:123456789012:function:greet" }  # --function
    resources = { "arn:aws:states:::echo:say" = "arn:aws:states:::lambda:invoke" }  # --resource
    tags = { team = "payments" }                 # --tag

Relative paths are relative to the file's directory, and function modules are imported from
there too. Precedence: a command-line flag, then an environment variable (``DURABLE_DB``),
then the file, then the built-in default. ``functions`` and ``substitutions`` are merged
with the command line's: the command line's function or key of the same name wins; so are
``local_buckets`` and ``[deploy]``'s ``functions``, ``resources`` and ``tags``. ``db``,
``functions``, ``mocks`` and ``local_buckets`` are local: ``durable validate --portable`` says so.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .cli_common import CliError
from .cli_db import is_postgres_url

__all__ = ["CONFIG_FILE", "LOCAL_SETTINGS", "Config", "apply_config", "find_config", "load_config"]

CONFIG_FILE = ".durable.toml"
PYPROJECT = "pyproject.toml"

_STRINGS = ("db", "mocks", "region", "account")
_KEYS = (*_STRINGS, "functions", "substitutions", "local_buckets", "deploy")
_DEPLOY_STRINGS = ("role_arn", "region", "endpoint_url")
_DEPLOY_TABLES = ("functions", "resources", "tags")
LOCAL_SETTINGS = ("db", "functions", "mocks", "local_buckets")
"""Settings that describe this machine only: nothing of them travels to AWS."""


@dataclass(frozen=True, slots=True)
class Config:
    """The settings of one configuration file (``path``); None or empty when not set."""

    path: Path
    db: str | None = None
    functions: tuple[str, ...] = ()
    mocks: str | None = None
    region: str | None = None
    account: str | None = None
    substitutions: dict[str, str] = field(default_factory=dict)
    local_buckets: dict[str, str] = field(default_factory=dict)
    deploy: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        """The directory relative paths are relative to."""
        return self.path.parent

    @property
    def label(self) -> str:
        """How messages name the file (``[tool.durable]`` of a pyproject.toml included)."""
        return f"[tool.durable] of {self.path}" if self.path.name == PYPROJECT else str(self.path)

    def file(self, text: str) -> Path:
        """A path of the file, relative to :attr:`base` unless absolute."""
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base / path


def find_config(start: Path | None = None) -> Config | None:
    """The configuration of ``start`` (default: the current directory) or its nearest parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return load_config(own)
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            found = _from_pyproject(pyproject)
            if found is not None:
                return found
    return None


def _from_pyproject(path: Path) -> Config | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # not ours to complain about
    if "durable" not in text:
        return None
    doc = _parse(text, path)
    tool = doc.get("tool")
    table = tool.get("durable") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise CliError(f"{path}: tool.durable must be a table")
    return _settings(table, path)


def load_config(path: Path) -> Config:
    """The settings of ``path``: a ``.durable.toml`` or a ``pyproject.toml`` with ``[tool.durable]``."""
    if path.name == PYPROJECT:
        found = _from_pyproject(path)
        return found if found is not None else Config(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"configuration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the configuration file {path}: {exc}") from None
    return _settings(_parse(text, path), path)


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"invalid TOML in {path}: {exc}") from None


def _settings(table: dict[str, Any], path: Path) -> Config:
    where = f"[tool.durable] of {path}" if path.name == PYPROJECT else str(path)
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise CliError(
            f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(known: {', '.join(_KEYS)})"
        )
    strings: dict[str, str | None] = {}
    for key in _STRINGS:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise CliError(f"{where}: {key} must be a non-empty string")
        strings[key] = value
    functions = table.get("functions", [])
    if isinstance(functions, str):
        functions = [functions]
    if not isinstance(functions, list) or not all(isinstance(f, str) and f.strip() for f in functions):
        raise CliError(f'{where}: functions must be a list of module names and "NAME=module:attr" strings')
    subs = table.get("substitutions", {})
    if not isinstance(subs, dict):
        raise CliError(f"{where}: substitutions must be a table of KEY = VALUE")
    texts: dict[str, str] = {}
    for key, value in subs.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise CliError(f"{where}: substitution {key} must be a string or a number")
        texts[key] = str(value)
    buckets = _string_table(table.get("local_buckets", {}), f"{where}: local_buckets")
    return Config(
        path,
        db=strings["db"],
        functions=tuple(f.strip() for f in functions),
        mocks=strings["mocks"],
        region=strings["region"],
        account=strings["account"],
        substitutions=texts,
        local_buckets=buckets,
        deploy=_deploy_settings(table.get("deploy", {}), where),
    )


def _string_table(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise CliError(f'{what} must be a table of NAME = "text"')
    return dict(value)


def _deploy_settings(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CliError(f"{where}: deploy must be a table")
    known = (*_DEPLOY_STRINGS, *_DEPLOY_TABLES)
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise CliError(f"{where}: unknown deploy setting {', '.join(unknown)} (known: {', '.join(known)})")
    out: dict[str, Any] = {}
    for key in _DEPLOY_STRINGS:
        if key in value:
            if not isinstance(value[key], str) or not value[key].strip():
                raise CliError(f"{where}: deploy.{key} must be a non-empty string")
            out[key] = value[key]
    for key in _DEPLOY_TABLES:
        if key in value:
            out[key] = _string_table(value[key], f"{where}: deploy.{key}")
    return out


def _db(config: Config, text: str) -> str:
    """The database ``db`` names: a file path or a ``sqlite:///`` URL of one (relative to the
    file's directory), or a ``postgresql://`` URL (as it is)."""
    if is_postgres_url(text):
        return text
    if text.startswith("sqlite:///"):
        text = unquote(text[len("sqlite:///") :].partition("?")[0])
    elif "://" in text:
        raise CliError(
            f"{config.label}: db must be a file path, a sqlite:/// URL or a postgresql:// URL, not {text!r}"
        )
    return str(config.file(text))


def apply_config(args: argparse.Namespace, config: Config) -> None:
    """Fill in what the command line left unset from ``config`` (see the module's docstring)."""
    if getattr(args, "db", "") is None and config.db and not os.environ.get("DURABLE_DB"):
        args.db = _db(config, config.db)
    if hasattr(args, "config_functions") and config.functions:
        args.config_functions = config.functions
        args.config_dir = str(config.base)
        args.config_file = config.label
    if hasattr(args, "config_substitutions") and config.substitutions:
        args.config_substitutions = dict(config.substitutions)
    if hasattr(args, "config_local_buckets") and config.local_buckets:
        args.config_local_buckets = {name: str(config.file(d)) for name, d in config.local_buckets.items()}
    if hasattr(args, "config_deploy") and config.deploy:
        args.config_deploy = dict(config.deploy)
    if hasattr(args, "config_local_settings"):
        present: dict[str, object] = {"db": config.db, "functions": config.functions}
        present.update(mocks=config.mocks, local_buckets=config.local_buckets)
        args.config_local_settings = tuple(key for key in LOCAL_SETTINGS if present[key])
        args.config_file = config.label
    if getattr(args, "mock_config", "") is None and config.mocks:
        args.mock_config = str(config.file(config.mocks))
    for key in ("region", "account"):
        if getattr(args, key, "") is None and getattr(config, key):
            setattr(args, key, getattr(config, key))
