"""Case states and the figures derived from them."""

from datetime import datetime, timedelta
from typing import Any

from gridcase_contracts.codes import Category, District, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_stats.domain.case_state import CaseState
from gridcase_stats.domain.figures import (
    Dimension,
    Interval,
    Metric,
    Scope,
    TableQuery,
    all_figures,
    backlog_table,
    counts_table,
    durations_table,
    leaderboard,
    on_time_rates,
    overdue_open_table,
    participation_table,
    summary,
    timeseries,
)
from gridcase_stats.domain.report import report
from gridcase_stats.handlers import record_event


def replay(events: list[Envelope]) -> list[CaseState]:
    cases: dict[str, dict[str, Any]] = {}
    for event in events:
        record_event(cases, event)  # type: ignore[arg-type]
    return [CaseState.from_json(value) for value in cases.values()]


def test_an_event_applied_twice_changes_nothing(fixed: Any, may_day: datetime) -> None:
    events = fixed("GC-case-once", may_day).events
    cases: dict[str, dict[str, Any]] = {}
    assert all(record_event(cases, event) for event in events)
    before = dict(cases["GC-case-once"])
    assert not any(record_event(cases, event) for event in events)
    assert cases["GC-case-once"] == before
    assert len(before["event_ids"]) == len(events)


def test_a_mixed_stream_yields_exact_counts(story: Any, fixed: Any, may_day: datetime) -> None:
    events = [
        *fixed("GC-case-a1", may_day).events,
        *fixed("GC-case-a2", may_day, category=Category.FIRE_SAFETY, district=District.D05).events,
        *story("GC-case-a3", may_day).assigned(1).accepted(3).progress(4).resolved(6).events,
        *story("GC-case-a4", may_day).assigned(1).rejected(2).events,
        *story("GC-case-a5", may_day).duplicate(1, "GC-case-a1").events,
        *story("GC-case-a6", may_day)
        .assigned(1)
        .returned(2)
        .assigned(3, reason="return-reroute")
        .events,
        *fixed("GC-case-a7", may_day).reopened(42).assigned(42, reason="reopen").events,
        *story("GC-case-a8", may_day).assigned(1).overdue(26, Stage.ACCEPT).escalated(26, 1).events,
    ]
    states = replay(events)
    figures = summary(states, Scope())
    assert figures[Metric.REPORTED] == 8
    assert figures[Metric.FOUND] == 7
    assert figures[Metric.DUPLICATE] == 1
    assert figures[Metric.RESOLVED] == 3  # a1, a2, a3 (a7 was closed, then reopened)
    assert figures[Metric.CLOSED] == 2
    assert figures[Metric.REJECTED] == 1
    assert figures[Metric.RETURNED] == 1
    assert figures[Metric.REOPENED] == 1
    assert figures[Metric.OVERDUE] == 1
    assert figures[Metric.ESCALATED] == 1
    assert figures["open"] == 4  # a3 resolved, a6 assigned, a7 reopened, a8 assigned
    assert figures["overdue_open"] == 1
    assert figures["resolution_rate"] == round(3 / 7, 4)
    assert figures["reopen_rate"] == 0.25
    assert figures["on_time_by_stage"]["accept"] == 0.8  # 4 on time, a8 late

    by_district = {row["district"]: row for row in leaderboard(states, Scope(), Dimension.DISTRICT)}
    assert by_district["D05"]["rank"] == 1
    assert by_district["D05"]["resolution_rate"] == 1.0
    assert by_district["D03"]["found"] == 6
    assert by_district["D03"]["resolved"] == 2
    assert overdue_open_table(states, TableQuery()) == [
        {"stage": "accept", "department": "housing-bureau", "overdue_open": 1}
    ]


def test_counts_fall_in_the_city_period_of_their_event(story: Any) -> None:
    new_years_eve = datetime.fromisoformat("2026-12-31T10:00:00+00:00")  # 18:00 in the city
    states = replay(story("GC-case-nye", new_years_eve).assigned(1).resolved(6.5).events)
    rows = counts_table(states, TableQuery(interval=Interval.YEAR))
    assert [(row["period"], row["found"], row["resolved"]) for row in rows] == [
        ("2026", 1, 0),
        ("2027", 0, 1),
    ]
    points = timeseries(states, Scope(), Metric.RESOLVED, Interval.DAY)
    assert points == [{"period": "2027-01-01", "value": 1}]
    year_2027 = datetime.fromisoformat("2027-01-01T00:00:00+08:00").timestamp()
    assert summary(states, Scope(start=year_2027))[Metric.RESOLVED] == 1
    assert summary(states, Scope(start=year_2027))[Metric.FOUND] == 0


def test_stage_durations_median_and_p90(story: Any, may_day: datetime) -> None:
    events = []
    for hours in range(1, 11):  # resolved after 1..10 hours
        events += story(f"GC-case-d{hours:02d}", may_day).assigned(0.5).resolved(hours).events
    rows = {row["stage"]: row for row in durations_table(replay(events), TableQuery())}
    resolve = rows["resolve"]
    assert resolve["count"] == 10
    assert abs(resolve["median_s"] - 5 * 3600) <= 0.02 * 5 * 3600
    assert abs(resolve["p90_s"] - 9 * 3600) <= 0.02 * 9 * 3600
    assert rows["dispatch"]["median_s"] == rows["dispatch"]["p90_s"]
    assert abs(rows["dispatch"]["median_s"] - 1800) <= 18
    assert rows["verify"]["count"] == 0
    assert rows["verify"]["median_s"] is None


def test_on_time_rate_per_stage(story: Any, may_day: datetime) -> None:
    states = replay(
        [
            *story("GC-case-t1", may_day).assigned(0, accept_within=4).accepted(2).events,
            *story("GC-case-t2", may_day).assigned(0, accept_within=4).accepted(6).events,
            *story("GC-case-t3", may_day)
            .assigned(0, accept_within=4)
            .overdue(5, Stage.ACCEPT)
            .events,
            *story("GC-case-t4", may_day)
            .assigned(0)
            .accepted(1)
            .ordered(2, 10)
            .resolved(12)
            .events,
        ]
    )
    rates = on_time_rates(states)
    assert rates["accept"] == {"on_time": 2, "late": 2, "on_time_rate": 0.5}
    assert rates["rectification"] == {"on_time": 0, "late": 1, "on_time_rate": 0.0}
    assert rates["first_response"] == {"on_time": 1, "late": 0, "on_time_rate": 1.0}
    assert rates["verify"]["on_time_rate"] is None


def test_backlog_by_age_and_participation(story: Any, may_day: datetime) -> None:
    events = [
        *story("GC-case-b1", may_day, team="team-01", reporter="v-1").events,
        *story("GC-case-b2", may_day - timedelta(days=2), team="team-01", reporter="v-1").events,
        *story("GC-case-b3", may_day - timedelta(days=40), team="team-02", reporter="v-2").events,
        *story("GC-case-b4", may_day, team=None, reporter="v-3").assigned(1).rejected(2).events,
    ]
    states = replay(events)
    now = (may_day + timedelta(hours=3)).timestamp()
    backlog = {row["age_bucket"]: row["open"] for row in backlog_table(states, TableQuery(now=now))}
    assert backlog == {"0-1d": 1, "1-3d": 1, "3-7d": 0, "7-30d": 0, "30d+": 1}
    assert participation_table(states, TableQuery()) == [
        {"team": "team-01", "person_times": 2, "volunteers": 1},
        {"team": "team-02", "person_times": 1, "volunteers": 1},
    ]


def test_filters_by_dimension(fixed: Any, may_day: datetime) -> None:
    states = replay(
        [
            *fixed("GC-case-f1", may_day).events,
            *fixed(
                "GC-case-f2", may_day, category=Category.SANITATION, district=District.D01
            ).events,
        ]
    )
    assert summary(states, Scope(district="D01"))[Metric.FOUND] == 1
    assert summary(states, Scope(category="sanitation", district="D03"))[Metric.FOUND] == 0
    assert summary(states, Scope(department="housing-bureau"))[Metric.RESOLVED] == 2


def test_report_names_the_leading_categories(story: Any, may_day: datetime) -> None:
    events = []
    for index, category in enumerate(
        [Category.PUBLIC_SECURITY] * 3 + [Category.HOUSING_SAFETY] * 4 + [Category.OTHER]
    ):
        case = story(f"GC-case-r{index}", may_day, category=category).assigned(1)
        events += (case.resolved(3) if index % 2 else case).events
    result = report(replay(events), Scope())
    assert result["found_by_category"] == {"housing-safety": 4, "public-security": 3, "other": 1}
    assert result["text_zh"] == "排查自建房安全、社会治安、其他方面隐患问题8个，已化解4个"


def test_all_figures_are_the_same_whatever_the_order_of_cases(
    fixed: Any, story: Any, may_day: datetime
) -> None:
    first = fixed("GC-case-o1", may_day).events
    second = story("GC-case-o2", may_day).assigned(1).overdue(30, Stage.ACCEPT).events
    assert all_figures(replay(first + second)) == all_figures(replay(second + first))
