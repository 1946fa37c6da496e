"""The event bus on the command line: ``put-events``, ``put-rule``, ``put-targets``, ``rules``,
``delete-rule``.

They act on the database as a client: rules and targets are stored at once, and accepted events
are committed to the inbox; the engine that executes the database (``durable run-engine``,
``durable serve``) delivers them, or the next one that opens does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from ..runtime.session import Session
from .cli_common import EXIT_OK, CliError, dump, input_text, run_async
from .cli_db import add_db_argument
from .cli_engine import engine_session
from .cli_executions import existing_db

__all__ = ["add_commands"]


def _json(spec: str, option: str) -> Any:
    return json.loads(input_text(spec, False, option))


def _run(args: argparse.Namespace, action: Callable[[Session], Coroutine[Any, Any, Any]]) -> int:
    db = existing_db(args)

    async def go() -> Any:
        async with engine_session(db) as session:
            return await action(session)

    dump(run_async(go()), sys.stdout)
    return EXIT_OK


def _cmd_put_events(args: argparse.Namespace) -> int:
    entries = _json(args.entries, "--entries")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise CliError("--entries must be a JSON array of PutEvents entries (or one entry)")
    for entry in entries:  # Detail may be given as a JSON object: sent as its text
        if isinstance(entry, dict) and isinstance(entry.get("Detail"), (dict, list)):
            entry["Detail"] = json.dumps(entry["Detail"])
    return _run(args, lambda s: s.put_events(entries))


def _cmd_put_rule(args: argparse.Namespace) -> int:
    pattern = input_text(args.event_pattern, False, "--event-pattern")

    async def go(s: Session) -> dict[str, str]:
        arn = await s.put_rule(
            args.name,
            event_pattern=pattern,
            event_bus_name=args.bus,
            state=args.state,
            description=args.description,
        )
        return {"RuleArn": arn}

    return _run(args, go)


def _cmd_put_targets(args: argparse.Namespace) -> int:
    targets = _json(args.targets, "--targets")
    if isinstance(targets, dict):
        targets = [targets]
    return _run(args, lambda s: s.put_targets(args.rule, targets, event_bus_name=args.bus))


def _cmd_rules(args: argparse.Namespace) -> int:
    async def go(s: Session) -> list[dict[str, Any]]:
        rules = await s.list_rules(event_bus_name=args.bus)
        for rule in rules:
            rule["Targets"] = await s.list_targets_by_rule(rule["Name"], event_bus_name=args.bus)
        return rules

    return _run(args, go)


def _cmd_delete_rule(args: argparse.Namespace) -> int:
    async def go(s: Session) -> dict[str, str]:
        await s.delete_rule(args.name, event_bus_name=args.bus, force=args.force)
        return {"Deleted": args.name}

    return _run(args, go)


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    def command(
        name: str, help: str, handler: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name, help=help, description=help[0].upper() + help[1:] + ".", formatter_class=formatter
        )
        parser.set_defaults(handler=handler)
        return parser

    def bus(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--bus", metavar="NAME", help="event bus name or ARN (default: default)")

    p = command(
        "put-events", "put events on the database's event bus (EventBridge PutEvents)", _cmd_put_events
    )
    p.add_argument(
        "--entries", "-e", required=True, metavar="JSON|@FILE", help="PutEvents entries (a JSON array)"
    )
    add_db_argument(p)

    p = command("put-rule", "create or update an event bus rule (EventBridge PutRule)", _cmd_put_rule)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--event-pattern", "-p", required=True, metavar="JSON|@FILE", help="the event pattern")
    p.add_argument("--state", choices=("ENABLED", "DISABLED"), type=str.upper)
    p.add_argument("--description")
    bus(p)
    add_db_argument(p)

    p = command("put-targets", "add or replace a rule's targets: state machines", _cmd_put_targets)
    p.add_argument("rule", metavar="RULE")
    p.add_argument(
        "--targets", "-t", required=True, metavar="JSON|@FILE", help='[{"Id": ..., "Arn": STATE_MACHINE_ARN}]'
    )
    bus(p)
    add_db_argument(p)

    p = command("rules", "list the rules of an event bus with their targets", _cmd_rules)
    bus(p)
    add_db_argument(p)

    p = command("delete-rule", "delete an event bus rule", _cmd_delete_rule)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--force", action="store_true", help="also when it has targets (they go with it)")
    bus(p)
    add_db_argument(p)
