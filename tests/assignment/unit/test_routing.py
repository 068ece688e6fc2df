"""Catalogue lookups and fallbacks, return candidates, handler choice, the seed files."""

from datetime import UTC, datetime

from gridcase_assignment.adapters.seed_files import load_catalogue, load_registry
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.routing import (
    CatalogueEntry,
    HandlerLoad,
    choose_handler,
    next_candidate,
    route_for,
)
from gridcase_contracts.codes import Category, District

HOUSING = CatalogueEntry(
    Category.HOUSING_SAFETY, "*", "housing-bureau", ("urban-management-bureau",)
)
HOUSING_D02 = CatalogueEntry(Category.HOUSING_SAFETY, "D02", "fire-rescue")
CATALOGUE = {entry.key: entry for entry in (HOUSING, HOUSING_D02)}


def test_the_category_entry_routes_every_district() -> None:
    route = route_for(CATALOGUE, Category.HOUSING_SAFETY, District.D05)
    assert (route.lead, route.co_departments, route.reason) == (
        "housing-bureau",
        ("urban-management-bureau",),
        "catalogue",
    )
    assert route.candidates == ("housing-bureau", "urban-management-bureau", "district-d05")


def test_a_district_entry_wins_over_the_category_entry() -> None:
    route = route_for(CATALOGUE, Category.HOUSING_SAFETY, District.D02)
    assert (route.lead, route.candidates) == ("fire-rescue", ("fire-rescue", "district-d02"))


def test_without_an_entry_the_district_government_owns_the_case() -> None:
    route = route_for(CATALOGUE, Category.OTHER, District.D12)
    assert (route.lead, route.reason, route.candidates) == (
        "district-d12",
        "fallback",
        ("district-d12",),
    )


def test_returns_walk_the_candidates_in_order() -> None:
    candidates = ("housing-bureau", "urban-management-bureau", "district-d05")
    assert next_candidate(candidates, ["housing-bureau"]) == "urban-management-bureau"
    assert (
        next_candidate(candidates, ["housing-bureau", "urban-management-bureau"]) == "district-d05"
    )
    assert next_candidate(candidates, candidates) is None


def test_handler_choice_least_workload_then_longest_idle() -> None:
    early, late = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    assert choose_handler([HandlerLoad("a", 3, early), HandlerLoad("b", 1, late)]) == "b"
    assert choose_handler([HandlerLoad("a", 1, late), HandlerLoad("b", 1, early)]) == "b"
    assert choose_handler([HandlerLoad("a", 1, early), HandlerLoad("b", 1, None)]) == "b"
    assert choose_handler([HandlerLoad("b", 0, None), HandlerLoad("a", 0, None)]) == "a"
    assert choose_handler([]) is None  # nobody on duty: the department queue


def test_the_seed_catalogue_names_only_registered_departments() -> None:
    settings = AssignmentSettings()
    departments, handlers = load_registry(settings.registry_file)
    codes = {department.code for department in departments}
    for entry in load_catalogue(settings.catalogue_file):
        assert {entry.lead, *entry.co_departments} <= codes
    for district in District:
        route = route_for({}, Category.OTHER, district)
        assert route.lead in codes
    by_id = {handler.handler_id: handler for handler in handlers}
    assert by_id["h-housing-1"].department == "housing-bureau"
    assert by_id["h-housing-1"].on_duty
    heads = {department.code: department.head for department in departments}
    assert heads["housing-bureau"] == "head-housing"
    assert not by_id["head-housing"].on_duty
