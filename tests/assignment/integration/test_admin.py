"""Every admin route: the dispatch catalogue, departments and handlers, and the record of
who changed what."""

import httpx
import pytest
from fastapi import FastAPI

from gridcase_assignment.config import AssignmentSettings
from gridcase_runtime.auth import Role

from .conftest import bearer

pytestmark = pytest.mark.integration


async def test_the_catalogue_is_read_by_supervisors_and_an_entry_removed_by_an_admin(
    service: FastAPI, settings: AssignmentSettings, http: httpx.AsyncClient
) -> None:
    admin = bearer(settings, Role.ADMIN, "a-catalogue")
    supervisor = bearer(settings, Role.SUPERVISOR, "s-catalogue")
    catalogue = (await http.get("/admin/catalogue", headers=supervisor)).json()
    housing = {"category": "housing-safety", "district": "*"}
    assert {
        "category": "housing-safety",
        "district": "*",
        "lead": "housing-bureau",
        "co_departments": ["urban-management-bureau"],
    } in catalogue
    handler = bearer(settings, Role.HANDLER, "h-housing-1", "housing-bureau")
    assert (await http.get("/admin/catalogue", headers=handler)).status_code == 403

    url = "/admin/catalogue/market-safety/*"
    assert (await http.delete(url, headers=supervisor)).status_code == 403
    removed = await http.delete(url, headers=admin)
    assert (removed.status_code, removed.content) == (204, b"")
    after = (await http.get("/admin/catalogue", headers=admin)).json()
    assert len(after) == len(catalogue) - 1
    assert not any(e["category"] == "market-safety" and e["district"] == "*" for e in after)
    assert any(e.items() >= housing.items() for e in after)
    again = await http.delete(url, headers=admin)
    assert again.status_code == 404

    [change] = [
        c
        for c in (await http.get("/admin/changes?kind=catalogue", headers=admin)).json()
        if c["key"] == "market-safety/*"
    ]
    assert (change["by"], change["after"], change["before"]["lead"]) == (
        "a-catalogue",
        None,
        "market-supervision",
    )


async def test_an_offset_beyond_any_queue_is_refused_by_name(
    service: FastAPI, settings: AssignmentSettings, http: httpx.AsyncClient
) -> None:
    supervisor = bearer(settings, Role.SUPERVISOR, "s-offset")
    for path in ("/supervisor/queue", "/supervisor/escalations"):
        far = await http.get(path, params={"offset": 10**19}, headers=supervisor)
        assert (far.status_code, far.json()["field"]) == (422, "offset")
        last = await http.get(path, params={"offset": 100_000_000}, headers=supervisor)
        assert (last.status_code, last.json()) == (200, [])


async def test_departments_and_handlers_are_created_changed_and_put_off_duty(
    service: FastAPI, settings: AssignmentSettings, http: httpx.AsyncClient
) -> None:
    admin = bearer(settings, Role.ADMIN, "a-registry")
    supervisor = bearer(settings, Role.SUPERVISOR, "s-registry")
    departments = (await http.get("/admin/departments", headers=supervisor)).json()
    assert {d["code"]: d["head"] for d in departments}["housing-bureau"] == "head-housing"

    created = await http.put(
        "/admin/departments/water-bureau", json={"name": "Water Bureau"}, headers=admin
    )
    assert created.json() == {"code": "water-bureau", "name": "Water Bureau", "head": None}
    no_head = await http.put(
        "/admin/departments/water-bureau",
        json={"name": "Water Bureau", "head": "h-housing-1"},
        headers=admin,
    )
    assert (no_head.status_code, no_head.json()["field"]) == (422, "head")
    unknown = await http.put(
        "/admin/handlers/h-water-1", json={"department": "no-bureau", "name": "Qian"}, headers=admin
    )
    assert (unknown.status_code, unknown.json()["field"]) == (422, "department")

    qian = {"department": "water-bureau", "name": "Qian"}
    hired = await http.put("/admin/handlers/h-water-1", json=qian, headers=admin)
    assert hired.json() == {
        "handler_id": "h-water-1",
        "department": "water-bureau",
        "name": "Qian",
        "on_duty": True,
    }
    headed = await http.put(
        "/admin/departments/water-bureau",
        json={"name": "Water Bureau", "head": "h-water-1"},
        headers=admin,
    )
    assert headed.json()["head"] == "h-water-1"

    off = await http.patch("/admin/handlers/h-water-1", json={"on_duty": False}, headers=admin)
    assert off.json()["on_duty"] is False
    listed = (await http.get("/admin/handlers?department=water-bureau", headers=supervisor)).json()
    assert listed == [{**hired.json(), "on_duty": False}]
    every = (await http.get("/admin/handlers", headers=supervisor)).json()
    assert {"h-water-1", "h-housing-1", "head-housing"} <= {h["handler_id"] for h in every}
    missing = await http.patch("/admin/handlers/h-nobody", json={"on_duty": True}, headers=admin)
    assert missing.status_code == 404
    assert (
        await http.patch("/admin/handlers/h-water-1", json={"on_duty": True}, headers=supervisor)
    ).status_code == 403

    after = {d["code"]: d for d in (await http.get("/admin/departments", headers=admin)).json()}
    assert after["water-bureau"] == headed.json()
    changes = (await http.get("/admin/changes?kind=handler&limit=2", headers=admin)).json()
    assert [(c["key"], c["before"]["on_duty"], c["after"]["on_duty"]) for c in changes[:1]] == [
        ("h-water-1", True, False)
    ]
    departments_changed = (await http.get("/admin/changes?kind=department", headers=admin)).json()
    assert [(c["key"], c["after"]["head"]) for c in departments_changed[:2]] == [
        ("water-bureau", "h-water-1"),
        ("water-bureau", None),
    ]
