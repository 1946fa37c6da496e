"""The large-scale processing example's data and task code.

``write_orders_csv`` writes a CSV of generated orders (the same rows for the same arguments);
``PriceBatch`` is the child executions' Lambda-style task: it prices one batch of rows.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from durable import TaskFailed

__all__ = ["HEADER", "InvalidOrder", "PriceBatch", "write_orders_csv"]

HEADER = "order_id,customer,country,quantity,unit_price"
COUNTRIES = ("DE", "FR", "NL", "SE", "US")
_calls = itertools.count(1)


class InvalidOrder(Exception):
    """A row that cannot be priced: the whole batch fails (a FAILED_ result) for review."""


def write_orders_csv(path: Path, rows: int, *, bad_rows: Iterable[int] = (), seed: int = 7) -> Path:
    """Write ``rows`` orders to ``path``; the rows numbered in ``bad_rows`` (1-based) get a
    quantity that is not a number."""
    bad = set(bad_rows)
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        out.write(HEADER + "\n")
        for n in range(1, rows + 1):
            quantity = "many" if n in bad else str(rng.randint(1, 20))
            price = f"{rng.randint(100, 99_999) / 100:.2f}"
            out.write(
                f"ORD-{n:08d},customer-{rng.randint(1, 50_000)},{rng.choice(COUNTRIES)},{quantity},{price}\n"
            )
    return path


def PriceBatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Price a batch of orders (``{"Items": [rows], "BatchInput": {...}}``): the batch's order
    count, revenue and revenue per country. A row whose quantity or price is not a number fails
    the batch with ``InvalidOrder``.

    ``PRICING_THROTTLE_EVERY=N`` (environment) makes every Nth call fail with
    ``Lambda.TooManyRequestsException``, as a throttled function would: the state's Retry
    absorbs it.
    """
    every = int(os.environ.get("PRICING_THROTTLE_EVERY") or 0)
    if every and next(_calls) % every == 0:
        raise TaskFailed("Lambda.TooManyRequestsException", "Rate Exceeded.")
    revenue = 0.0
    by_country: dict[str, float] = {}
    for row in event["Items"]:
        try:
            amount = int(row["quantity"]) * float(row["unit_price"])
        except ValueError:
            raise InvalidOrder(
                f"{row['order_id']}: quantity {row['quantity']!r}, price {row['unit_price']!r}"
            ) from None
        revenue += amount
        by_country[row["country"]] = round(by_country.get(row["country"], 0.0) + amount, 2)
    return {
        "orders": len(event["Items"]),
        "first": event["Items"][0]["order_id"],
        "revenue": round(revenue, 2),
        "byCountry": by_country,
    }
