"""``durable ui``: the web pages of a database, read-only (see docs/ui.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli_common import EXIT_OK, PROG, CliError
from .cli_db import add_db_argument
from .cli_executions import existing_db
from .cli_http import loopback

__all__ = ["DEFAULT_PORT", "add_commands"]

DEFAULT_PORT = 8084

_DESCRIPTION = """\
Serve web pages over a database, read-only: its state machines (each with its state graph,
versions and aliases), their executions (filtered by status, searched by name, page by page)
and each execution: its graph with every state coloured by what the execution did there
(succeeded, caught, failed, running, not reached), its history, the input and output of the
state you click, its Map Runs. A running execution's page follows it live.

The pages never start, answer or stop anything, and run nothing: run `durable run-engine` (or
`durable serve`, which also serves these pages under /ui) to execute the database.
Listens on 127.0.0.1 unless told otherwise; the pages show executions' inputs and outputs, so
another address needs --allow-remote.
"""

_EPILOG = """\
examples:
  durable ui --db app.db                 # then open http://127.0.0.1:8084/
  durable ui --db app.db --port 9000
"""


def _cmd_ui(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..runtime.client import Client
        from ..ui import create_ui_app
    except ImportError as exc:
        raise CliError(f"durable ui needs {exc.name}: pip install 'durable[ui]'") from None

    db = existing_db(args)
    if not loopback(args.host) and not args.allow_remote:
        raise CliError(
            f"listening on {args.host} shows every execution's input and output to the network: "
            "pass --allow-remote to do it anyway"
        )
    app = create_ui_app(Client(db.url), close_session=True)
    print(
        f"{PROG}: the pages of {db} on http://{args.host}:{args.port}/ (read-only); stop with Ctrl-C",
        file=sys.stderr,
    )
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
    return EXIT_OK


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``ui`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "ui",
        help="serve web pages of a database's state machines and executions (read-only)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    add_db_argument(p)
    p.set_defaults(handler=_cmd_ui)
