"""Duplicate geometry: haversine, the bounding box, the grid cells, the radius edge and the
window."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from gridcase_assignment.domain.duplicates import (
    NearbyCase,
    bounding_box,
    cells_near,
    cluster_priority,
    find_primary,
    grid_cell,
    haversine_m,
)

NOW = datetime(2026, 3, 4, tzinfo=UTC)
METRES_PER_DEGREE_LAT = haversine_m(0, 0, 1, 0)


def north_of(lat: float, metres: float) -> float:
    return lat + metres / METRES_PER_DEGREE_LAT


def test_haversine_knows_a_degree_and_nothing() -> None:
    assert haversine_m(26.9, 112.6, 26.9, 112.6) == 0
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-3)


@pytest.mark.parametrize(("metres", "merged"), [(49.9, True), (50.0, True), (50.1, False)])
def test_the_radius_edge(metres: float, merged: bool) -> None:
    primary = NearbyCase("GC-A", north_of(26.9, metres), 112.6, NOW)
    match = find_primary(26.9, 112.6, NOW, [primary], radius_m=50, window=timedelta(days=30))
    assert (match is not None) is merged
    if match:
        assert match.distance_m == pytest.approx(metres, abs=1e-6)


def test_the_bounding_box_holds_the_whole_circle() -> None:
    for lat in (0.0, 26.9, 60.0, 89.9):
        box = bounding_box(lat, 112.6, 50)
        assert box.min_lat < north_of(lat, -50)
        assert north_of(lat, 50) < box.max_lat
        east = 112.6 + (50 / METRES_PER_DEGREE_LAT) / math.cos(math.radians(lat))
        assert box.max_lon >= min(180.0, east)


@pytest.mark.parametrize("lat", [-33.9, 0.0, 26.9, 59.9, 79.95, 85.0, 89.99])
def test_a_report_within_the_radius_finds_the_case_by_its_own_cell(lat: float) -> None:
    chance = random.Random(lat)
    for _ in range(2000):
        case_lon = chance.uniform(-179, 179)
        case_lat = min(89.999, lat + chance.uniform(-0.001, 0.001))
        distance, bearing = chance.uniform(0, 50), chance.uniform(0, 2 * math.pi)
        report_lat = min(89.9999, north_of(case_lat, distance * math.cos(bearing)))
        scale = max(math.cos(math.radians(case_lat)), 1e-9)
        report_lon = case_lon + (distance * math.sin(bearing) / METRES_PER_DEGREE_LAT) / scale
        if haversine_m(case_lat, case_lon, report_lat, report_lon) <= 50:
            cell = grid_cell(report_lat, report_lon, 50)
            assert cell in cells_near(case_lat, case_lon, 50)


def test_a_case_keeps_few_cells() -> None:
    for lat in (0.0, 26.9, 60.0, 79.0, 85.0):
        assert 1 <= len(cells_near(lat, 112.6, 50)) <= 9


def test_the_window_and_the_nearest_primary() -> None:
    near_old = NearbyCase("GC-OLD", north_of(26.9, 5), 112.6, NOW - timedelta(days=31))
    farther = NearbyCase("GC-FAR", north_of(26.9, 30), 112.6, NOW - timedelta(days=2))
    nearest = NearbyCase("GC-NEAR", north_of(26.9, 20), 112.6, NOW - timedelta(days=1))
    match = find_primary(
        26.9, 112.6, NOW, [near_old, farther, nearest], radius_m=50, window=timedelta(days=30)
    )
    assert match is not None
    assert match.primary.case_id == "GC-NEAR"


def test_priority_rises_at_each_threshold() -> None:
    assert [cluster_priority(size, [3, 5, 10]) for size in (1, 2, 3, 4, 5, 10, 50)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]


@pytest.mark.parametrize(("case_lon", "report_lon"), [(179.9998, -179.9998), (180.0, -180.0)])
def test_a_case_across_the_antimeridian_is_found_by_its_cell(
    case_lon: float, report_lon: float
) -> None:
    assert haversine_m(-17.0, case_lon, -17.0, report_lon) < 50
    assert grid_cell(-17.0, report_lon, 50) in cells_near(-17.0, case_lon, 50)
