"""``durable serve``: the Step Functions endpoint (AWS JSON 1.0) over a database."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import sys
import uuid
from typing import Any

from ..runtime.engine import Engine
from .cli_common import (
    EXIT_OK,
    PROG,
    CliError,
    add_function_argument,
    function_refs,
    load_functions,
    local_imports,
)
from .cli_db import add_db_argument, database
from .cli_serve import add_shared_arguments

__all__ = ["add_commands", "loopback"]

ACCESS_KEYS_ENV = "DURABLE_ACCESS_KEYS"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "111111111111"

_DESCRIPTION = """\
Serve the Step Functions API (AWS JSON 1.0, as boto3 and the AWS CLI speak it) over a database:
point a client's endpoint URL at http://HOST:PORT. The server owns an engine of the database:
it executes Standard executions durably (or stands by while `durable run-engine` does) and runs
Express ones in its memory. Other `durable` commands and durable.Client can use the same
database meanwhile. Without --auth, it also serves the read-only web pages of `durable ui`
under /ui (--no-ui: not).

Listens on 127.0.0.1 unless told otherwise. --auth sigv4 verifies each request's AWS Signature
Version 4 against the access keys of --access-key ID:SECRET (repeatable) or $DURABLE_ACCESS_KEYS
(ID:SECRET[,ID:SECRET...]). Listening on another address without authentication needs
--allow-remote-without-auth.
"""

_EPILOG = """\
examples:
  durable serve --db app.db
  aws stepfunctions --endpoint-url http://127.0.0.1:8083 list-state-machines
  durable serve --host 0.0.0.0 --auth sigv4 --access-key AKIDEXAMPLE:secret
"""


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..server import SigV4Verifier, create_app, parse_access_keys

    db = database(args.db)
    refs = function_refs(args)
    verifier = None
    if args.auth == "sigv4":
        env = os.environ.get(ACCESS_KEYS_ENV)
        try:
            keys = parse_access_keys([*args.access_keys, *([env] if env else [])])
        except ValueError as exc:
            raise CliError(f"bad --access-key: {exc}") from None
        if not keys:
            raise CliError(f"--auth sigv4 needs --access-key ID:SECRET or ${ACCESS_KEYS_ENV}")
        verifier = SigV4Verifier(keys)
    elif args.access_keys:
        raise CliError("--access-key needs --auth sigv4")
    if verifier is None and not loopback(args.host):
        if not args.allow_remote_without_auth:
            raise CliError(
                f"listening on {args.host} without authentication lets anyone on the network run "
                "your state machines: use --auth sigv4, or --allow-remote-without-auth"
            )
        print(f"{PROG}: WARNING: serving {args.host}:{args.port} without authentication", file=sys.stderr)
    engine = Engine(
        db.url,
        region=args.region or DEFAULT_REGION,
        account=args.account or DEFAULT_ACCOUNT,
        role=f"{PROG} serve",
        shared=args.shared,
        lease_seconds=args.lease_seconds,
    )
    with local_imports(), contextlib.redirect_stdout(sys.stderr):
        for spec, fn in load_functions(refs):
            try:
                engine.register_function(spec.name, fn)
            except ValueError as exc:
                raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
    test_cases = _test_cases(engine, args.mock_config) if args.mock_config else None
    pages = None
    if verifier is None and not args.no_ui:  # a browser does not sign its requests
        pages = _pages(db.url, engine)
    app = create_app(engine, verifier=verifier, test_cases=test_cases, ui=pages)
    print(
        f"{PROG}: serving the Step Functions API for {db} on http://{args.host}:{args.port}"
        f" (auth: {args.auth}){'' if pages is None else f', its pages on http://{args.host}:{args.port}/ui/'}"
        "; stop with Ctrl-C",
        file=sys.stderr,
    )
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
    return EXIT_OK


def _pages(url: str, engine: Engine) -> Any:
    """The pages' read-only client of the database (None, said, when jinja2 is missing)."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        print(f"{PROG}: no pages under /ui: they need jinja2 (pip install 'durable[ui]')", file=sys.stderr)
        return None
    from ..runtime.client import Client

    return Client(url, region=engine.region, account=engine.account)


def _test_cases(engine: Engine, path: str) -> Any:
    """Step Functions Local's mocked test cases: ``StartExecution`` of ``ARN#TestCase`` runs an
    execution whose Task states the MockConfigFile's test case answers (the others run as usual)."""
    from ..errors import ValidationError
    from ..testing import MockConfig, MockConfigError, Mocks

    try:
        config = MockConfig.load(path)
    except (OSError, MockConfigError) as exc:
        raise CliError(f"bad --mock-config {path!r}: {exc}") from None
    mocks = Mocks().install(engine)

    async def resolve(raw: str, name: str | None) -> tuple[str, str]:
        base, _, case_name = raw.partition("#")
        parts = base.split(":")
        machine = parts[6] if len(parts) > 6 else base
        try:
            cases = {case.name: case for case in config.test_cases(machine)}
        except (MockConfigError, KeyError):
            raise ValidationError(f"The MockConfigFile has no state machine named '{machine}'") from None
        case = cases.get(case_name)
        if case is None:
            known = ", ".join(sorted(cases)) or "none"
            raise ValidationError(
                f"The MockConfigFile has no test case '{case_name}' for '{machine}' (it has: {known})"
            )
        execution = name or str(uuid.uuid4())
        mocks.test_case(execution, case.mocks)
        return base, execution

    return resolve


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``serve`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="serve the Step Functions API for boto3 and the AWS CLI",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8083, help="port to listen on (default 8083)")
    p.add_argument("--auth", choices=("none", "sigv4"), default="none", help="request authentication")
    p.add_argument(
        "--access-key",
        action="append",
        default=[],
        dest="access_keys",
        metavar="ID:SECRET",
        help=f"an access key accepted by --auth sigv4 (repeatable; also ${ACCESS_KEYS_ENV})",
    )
    p.add_argument(
        "--allow-remote-without-auth",
        action="store_true",
        help="allow a non-loopback --host without --auth",
    )
    p.add_argument(
        "--mock-config",
        metavar="FILE",
        help="a MockConfigFile (AWS Step Functions Local's format): StartExecution of "
        "STATE_MACHINE_ARN#TEST_CASE runs with that test case's mocked Task states",
    )
    p.add_argument("--no-ui", action="store_true", help="do not serve the web pages under /ui")
    p.add_argument("--region", help=f"the region in ARNs (default {DEFAULT_REGION})")
    p.add_argument("--account", help=f"the account in ARNs (default {DEFAULT_ACCOUNT})")
    add_function_argument(p)
    add_shared_arguments(p)
    add_db_argument(p)
    p.set_defaults(handler=_cmd_serve)
