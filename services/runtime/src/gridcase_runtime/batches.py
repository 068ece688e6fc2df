"""Concurrency inside a consumed batch: different cases at once, each case's events in order.

A consumer's Mongo round trips dominate its time, and the events of different cases do not
depend on each other's order (Kafka orders them only per partition anyway), so handling
several cases at once hides the round trips' latency without reordering any case."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

CASES_AT_ONCE = 16


async def per_case(
    items: Iterable[Item],
    case_of: Callable[[Item], str],
    handle: Callable[[list[Item]], Awaitable[Result]],
    *,
    limit: int = CASES_AT_ONCE,
) -> list[Result]:
    """Groups `items` by case, keeping their order, and awaits `handle` on each case's
    items, at most `limit` cases at a time. Every case is handled even when another fails;
    the first failure is raised afterwards (the consumer then retries the batch, and the
    handlers are idempotent)."""
    cases: dict[str, list[Item]] = {}
    for item in items:
        cases.setdefault(case_of(item), []).append(item)
    slots = asyncio.Semaphore(limit)

    async def one(case_items: list[Item]) -> Result:
        async with slots:
            return await handle(case_items)

    outcomes = await asyncio.gather(*(one(c) for c in cases.values()), return_exceptions=True)
    results: list[Result] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        results.append(outcome)
    return results
