"""per_case: several cases at once, each case's events in their order."""

import asyncio

import pytest

from gridcase_runtime.batches import per_case


async def test_each_case_keeps_its_order_while_cases_overlap() -> None:
    items = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)]
    seen: list[tuple[str, int]] = []
    running = 0
    most_at_once = 0

    async def handle(case_items: list[tuple[str, int]]) -> int:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        for item in case_items:
            await asyncio.sleep(0.01)
            seen.append(item)
        running -= 1
        return len(case_items)

    counts = await per_case(items, lambda item: item[0], handle)

    assert counts == [3, 2, 1]
    for case in "abc":
        assert [n for c, n in seen if c == case] == sorted(n for c, n in items if c == case)
    assert most_at_once == 3


async def test_no_more_cases_than_the_limit_run_at_once() -> None:
    running = 0
    most_at_once = 0

    async def handle(_: list[int]) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(0.01)
        running -= 1

    await per_case(range(20), str, handle, limit=4)

    assert most_at_once == 4


async def test_every_case_is_handled_before_the_first_failure_is_raised() -> None:
    handled: list[str] = []

    async def handle(case_items: list[str]) -> None:
        if case_items[0] == "bad":
            raise ValueError("bad case")
        await asyncio.sleep(0.01)
        handled.extend(case_items)

    with pytest.raises(ValueError, match="bad case"):
        await per_case(["x", "bad", "y"], str, handle)

    assert sorted(handled) == ["x", "y"]
