"""A verified token's claims become a Principal only in their expected types and forms."""

from typing import Any

import pytest

from gridcase_runtime.auth import AuthError, Role, principal_of

HANDLER = {"sub": "h-7", "roles": ["handler"], "department": "housing-bureau"}


def test_well_formed_claims_make_the_principal() -> None:
    principal = principal_of({**HANDLER, "team": "team-07", "name": "Li Wei"})
    assert (principal.subject, principal.role, principal.department) == (
        "h-7",
        Role.HANDLER,
        "housing-bureau",
    )
    assert (principal.team, principal.name) == ("team-07", "Li Wei")
    volunteer = principal_of({"sub": "v-1", "roles": ["volunteer", "offline_access"]})
    assert (volunteer.department, volunteer.team) == (None, None)


def test_without_a_display_name_the_username_names_the_caller() -> None:
    assert principal_of({**HANDLER, "preferred_username": "liwei"}).name == "liwei"
    named = principal_of({**HANDLER, "name": "Li Wei", "preferred_username": "liwei"})
    assert named.name == "Li Wei"
    assert principal_of(HANDLER).name is None


def test_of_several_roles_the_widest_speaks() -> None:
    assert principal_of({**HANDLER, "roles": ["handler", "supervisor"]}).role == Role.SUPERVISOR


@pytest.mark.parametrize(
    ("changes", "claim"),
    [
        ({"department": ["housing-bureau", "fire-rescue"]}, "department"),
        ({"department": {"$ne": None}}, "department"),
        ({"department": 7}, "department"),
        ({"department": "Housing Bureau"}, "department"),
        ({"department": ""}, "department"),
        ({"team": {"$gt": ""}}, "team"),
        ({"team": ["team-01"]}, "team"),
        ({"name": ["x"]}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"sub": {"$ne": None}}, "sub"),
        ({"sub": 42}, "sub"),
        ({"roles": "admin"}, "roles"),
        ({"roles": [["admin"]]}, "roles"),
        ({"roles": ["root"]}, "role"),
        ({"department": None}, "department"),
    ],
)
def test_a_claim_of_the_wrong_type_or_form_is_refused(changes: dict[str, Any], claim: str) -> None:
    with pytest.raises(AuthError, match=claim):
        principal_of({**HANDLER, **changes})
