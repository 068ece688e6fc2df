"""Properties of the figures: they depend on each case's events in its order, never on how
the cases' events interleave or on redeliveries; and the report's rounding rule."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gridcase_contracts.codes import Category, District, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_stats.domain.case_state import load_states
from gridcase_stats.domain.figures import Metric, Scope, all_figures, summary
from gridcase_stats.domain.report import sentences
from gridcase_stats.domain.rounding import approximate, en_figure, zh_figure
from gridcase_stats.handlers import record_event
from stories import CaseStory

START = datetime(2026, 5, 4, 2, tzinfo=UTC)

STEPS = (
    "assigned",
    "accepted",
    "progress",
    "resolved",
    "verified",
    "reopened",
    "closed",
    "rejected",
    "returned",
    "duplicate",
    "overdue",
    "escalated",
    "confirmed",
)


def _step(case: CaseStory, step: str, hours: float) -> None:
    match step:
        case "duplicate":
            case.duplicate(hours, "GC-P-0")
        case "overdue":
            case.overdue(hours, Stage.ACCEPT)
        case "escalated":
            case.escalated(hours, 1)
        case "confirmed":
            case.confirmed(hours, satisfied=hours % 2 < 1)
        case _:
            getattr(case, step)(hours)


@st.composite
def case_histories(draw: st.DrawFn) -> list[list[Envelope]]:
    """A few cases, each reported and then taken through steps in time order."""
    histories = []
    for number in range(draw(st.integers(1, 5))):
        case = CaseStory(
            f"GC-P-{number}",
            START,
            category=draw(st.sampled_from([Category.HOUSING_SAFETY, Category.SANITATION])),
            district=draw(st.sampled_from([District.D03, District.D07])),
            team=draw(st.sampled_from(["team-01", "team-02", None])),
        )
        gaps = draw(st.lists(st.floats(0.25, 30), max_size=8))
        hours = 0.0
        for gap in gaps:
            hours += gap
            _step(case, draw(st.sampled_from(STEPS)), hours)
        histories.append(case.events)
    return histories


@st.composite
def interleavings(draw: st.DrawFn, histories: list[list[Envelope]]) -> list[Envelope]:
    """The events of all cases in an order that keeps each case's own order, some of them
    delivered twice (a redelivery comes after the first delivery)."""
    turns = draw(st.permutations([i for i, events in enumerate(histories) for _ in events]))
    positions = [0] * len(histories)
    order: list[Envelope] = []
    for case in turns:
        event = histories[case][positions[case]]
        positions[case] += 1
        order.append(event)
        if draw(st.booleans()) and draw(st.booleans()):
            order.append(draw(st.sampled_from(order)))
    return order


def figures_of(events: list[Envelope]) -> dict[str, Any]:
    cases: dict[str, dict[str, Any]] = {}
    for event in events:
        record_event(cases, event)  # type: ignore[arg-type]
    states = load_states(cases.values())
    return {"tables": all_figures(states), "summary": summary(states, Scope())}


@settings(max_examples=150, derandomize=True, deadline=None)
@given(data=st.data(), histories=case_histories())
def test_any_per_case_order_gives_the_same_figures(
    data: st.DataObject, histories: list[list[Envelope]]
) -> None:
    in_sequence = figures_of([event for events in histories for event in events])
    assert figures_of(data.draw(interleavings(histories))) == in_sequence


counts = st.integers(min_value=0, max_value=10**12)


@given(counts)
def test_a_count_is_shown_rounded_down_to_two_significant_figures(count: int) -> None:
    figure = approximate(count)
    if count < 100:
        assert (figure.shown, figure.dropped) == (count, False)
        return
    unit = 10 ** (len(str(count)) - 2)
    assert figure.shown % unit == 0
    assert 10 <= figure.shown // unit <= 99
    assert count - unit < figure.shown <= count
    assert figure.dropped == (figure.shown != count)


@given(counts, counts)
def test_rounding_keeps_the_order_of_counts(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert approximate(low).shown <= approximate(high).shown


@given(counts)
def test_the_suffix_says_more_than_exactly_when_something_was_dropped(count: int) -> None:
    figure = approximate(count)
    shown = f"{figure.shown}"
    assert zh_figure(count, first=True) == shown + ("余" if figure.dropped else "")
    assert zh_figure(count, first=False) == shown + ("多" if figure.dropped else "")
    assert en_figure(count) == f"{figure.shown:,}" + ("+" if figure.dropped else "")
    assert "more" not in en_figure(count)


@given(counts, counts)
def test_the_sentence_carries_both_figures_in_the_seeds_form(found: int, resolved: int) -> None:
    text_zh, text_en = sentences(found, resolved, ["housing-safety"])
    assert text_zh.endswith(
        f"隐患问题{zh_figure(found, first=True)}个，已化解{zh_figure(resolved, first=False)}个"
    )
    assert f"Found {en_figure(found)} " in text_en
    assert text_en.endswith(f"; resolved {en_figure(resolved)}.")


def test_the_seeds_own_sentence() -> None:
    assert sentences(3936, 3512, [])[0] == "排查隐患问题3900余个，已化解3500多个"
    assert sentences(3500, 3500, [])[0] == "排查隐患问题3500个，已化解3500个"
    assert summary([], Scope())[Metric.FOUND] == 0
