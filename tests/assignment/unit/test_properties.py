"""Properties of the working calendar, the SLA due dates and the duplicate geometry."""

import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from gridcase_assignment.adapters.seed_files import load_calendar, load_sla_policy
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.calendar import WorkingCalendar, parse_periods
from gridcase_assignment.domain.duplicates import (
    EARTH_RADIUS_M,
    NearbyCase,
    cells_near,
    cluster_priority,
    find_primary,
    grid_cell,
    haversine_m,
)
from gridcase_contracts.codes import Category, Severity

SEED = AssignmentSettings()
SEEDED = load_calendar(SEED)
SLA = load_sla_policy(SEED)

days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
calendars = st.builds(
    WorkingCalendar,
    periods=st.sampled_from(
        [SEEDED.periods, parse_periods("08:30-12:00,14:00-18:00"), parse_periods("00:00-23:59")]
    ),
    holidays=st.frozensets(days, max_size=40),
    makeup_days=st.frozensets(days, max_size=10),
)
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
durations = st.integers(min_value=1, max_value=400 * 60).map(lambda m: timedelta(minutes=m))


def within_working_time(calendar: WorkingCalendar, at: datetime) -> bool:
    """`at` falls in a working period of a working day, its end included."""
    local = at.astimezone(calendar.zone)
    clock = local.time().replace(tzinfo=None)
    return calendar.is_working_day(local.date()) and any(
        opens < clock <= closes for opens, closes in calendar.periods
    )


@given(calendars, instants, durations)
def test_working_time_ends_inside_working_hours(
    calendar: WorkingCalendar, start: datetime, duration: timedelta
) -> None:
    assert within_working_time(calendar, calendar.add_working_time(start, duration))


@given(calendars, instants, durations, durations)
def test_adding_more_time_never_ends_earlier(
    calendar: WorkingCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    shorter, longer = sorted((a, b))
    assert calendar.add_working_time(start, shorter) <= calendar.add_working_time(start, longer)


@given(calendars, instants, instants, durations)
def test_starting_later_never_ends_earlier(
    calendar: WorkingCalendar, a: datetime, b: datetime, duration: timedelta
) -> None:
    early, late = sorted((a, b))
    assert calendar.add_working_time(early, duration) <= calendar.add_working_time(late, duration)


@given(calendars, instants, durations, durations)
def test_adding_in_two_steps_is_adding_the_sum(
    calendar: WorkingCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    in_steps = calendar.add_working_time(calendar.add_working_time(start, a), b)
    assert in_steps == calendar.add_working_time(start, a + b)


@given(calendars, instants)
def test_no_time_is_no_time(calendar: WorkingCalendar, start: datetime) -> None:
    assert calendar.add_working_time(start, timedelta(0)) == start


@given(st.sampled_from(list(Category)), st.sampled_from(list(Severity)), instants)
def test_due_dates_follow_the_calendar_except_for_critical_cases(
    category: Category, severity: Severity, start: datetime
) -> None:
    due = SLA.due_dates(category, severity, start, SEEDED)
    hours = SLA.hours(category, severity)
    stages = (due.accept, due.first_response, due.resolve, due.verify)
    assert due.resolve <= due.verify
    if severity == Severity.CRITICAL:
        assert due.accept == start + timedelta(hours=hours.accept)
        assert due.verify == due.resolve + timedelta(hours=hours.verify)
        return
    assert all(within_working_time(SEEDED, at) for at in stages)
    assert due.verify == SEEDED.add_working_time(due.resolve, timedelta(hours=hours.verify))


@given(st.sampled_from(list(Category)), st.sampled_from(list(Severity)), instants, instants)
def test_a_later_start_never_gives_earlier_due_dates(
    category: Category, severity: Severity, a: datetime, b: datetime
) -> None:
    early, late = sorted((a, b))
    first, second = (SLA.due_dates(category, severity, s, SEEDED) for s in (early, late))
    assert first.model_dump().keys() == second.model_dump().keys()
    assert all(first.model_dump()[k] <= second.model_dump()[k] for k in first.model_dump())


# --- duplicate geometry -------------------------------------------------------------

latitudes = st.floats(min_value=-89.99, max_value=89.99)
longitudes = st.floats(min_value=-180, max_value=180)
radii = st.sampled_from([25.0, 50.0, 120.0])


def destination(lat: float, lon: float, distance_m: float, bearing: float) -> tuple[float, float]:
    """The point `distance_m` from (lat, lon) along `bearing` (radians), on the sphere."""
    angle = distance_m / EARTH_RADIUS_M
    phi, lam = math.radians(lat), math.radians(lon)
    phi2 = math.asin(
        math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(bearing)
    )
    lam2 = lam + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(phi),
        math.cos(angle) - math.sin(phi) * math.sin(phi2),
    )
    lon2 = (math.degrees(lam2) + 540) % 360 - 180
    return math.degrees(phi2), lon2


@given(latitudes, longitudes, latitudes, longitudes)
def test_distance_is_symmetric_and_zero_only_at_the_point(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    assert haversine_m(lat1, lon1, lat2, lon2) == haversine_m(lat2, lon2, lat1, lon1)
    assert haversine_m(lat1, lon1, lat1, lon1) == 0
    assert 0 <= haversine_m(lat1, lon1, lat2, lon2) <= math.pi * EARTH_RADIUS_M + 1e-6


@given(
    latitudes,
    longitudes,
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=2 * math.pi),
    radii,
)
@example(lat=26.89, lon=179.9999, fraction=1.0, bearing=math.pi / 2, radius=50.0)
@example(lat=89.9995, lon=0.0, fraction=1.0, bearing=math.pi, radius=50.0)
def test_a_point_within_the_radius_always_finds_the_case_by_its_own_cell(
    lat: float, lon: float, fraction: float, bearing: float, radius: float
) -> None:
    near_lat, near_lon = destination(lat, lon, radius * fraction, bearing)
    assume(haversine_m(lat, lon, near_lat, near_lon) <= radius)
    assert grid_cell(near_lat, near_lon, radius) in cells_near(lat, lon, radius)


@settings(max_examples=50)
@given(
    latitudes,
    longitudes,
    st.lists(st.tuples(st.floats(0, 200), st.floats(0, 2 * math.pi)), min_size=1, max_size=6),
)
def test_the_primary_is_the_nearest_case_within_the_radius(
    lat: float, lon: float, offsets: list[tuple[float, float]]
) -> None:
    now = datetime(2026, 5, 4, tzinfo=UTC)
    nearby = [
        NearbyCase(f"GC-{i}", *destination(lat, lon, distance, bearing), now)
        for i, (distance, bearing) in enumerate(offsets)
    ]
    match = find_primary(lat, lon, now, nearby, radius_m=50, window=timedelta(days=30))
    distances = [haversine_m(lat, lon, case.lat, case.lon) for case in nearby]
    if min(distances) > 50:
        assert match is None
        return
    assert match is not None
    assert match.distance_m == min(distances)


@given(st.integers(1, 50), st.integers(1, 50))
def test_a_bigger_cluster_never_has_a_lower_priority(a: int, b: int) -> None:
    small, big = sorted((a, b))
    assert cluster_priority(small, [3, 5, 10]) <= cluster_priority(big, [3, 5, 10])
