"""The ledger's hash chain on the real broker and Mongo-wire server: a check finds an entry
altered in the database (API, CLI, metric), a replay rebuilds the same hashes, and
ledgers stored before the chain existed are linked."""

from typing import Any

import httpx
import pytest
from remediation.integration.cases import assigned, new_case_id, reported
from remediation.integration.harness import (
    bearer,
    case_version,
    eventually,
    publish,
    running_service,
    settings_for,
)

from gridcase_remediation.bootstrap import Components
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.entrypoints.cli import verify_ledgers
from gridcase_runtime.auth import Role

pytestmark = pytest.mark.integration


async def an_accepted_case(
    settings: RemediationSettings, http: httpx.AsyncClient, parts: Components
) -> str:
    """A case with consumed events and one of this service's own (three entries)."""
    case_id = new_case_id()
    await publish(settings, [reported(case_id), assigned(case_id)])

    async def assigned_here() -> bool:
        return await case_version(parts, case_id) == 2

    await eventually(assigned_here)
    handler = bearer(settings, "h-1", Role.HANDLER, "housing-bureau")
    accepted = await http.post(
        f"/v1/cases/{case_id}/accept", headers={**handler, "If-Match": '"2"'}, json={}
    )
    assert accepted.status_code == 200, accepted.text
    return case_id


async def stored(parts: Components, case_id: str) -> dict[str, Any]:
    document = await parts.repository.cases.find_one({"_id": case_id})
    assert document is not None
    return document


def breaks_counted(exposition: str) -> float:
    for line in exposition.splitlines():
        if line.startswith("gridcase_ledger_breaks_total "):
            return float(line.split()[1])
    raise AssertionError("gridcase_ledger_breaks_total is not exported")


async def test_an_entry_altered_in_the_database_fails_the_chain_check(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    capsys: pytest.CaptureFixture[str],
) -> None:
    http, parts = service
    supervisor = bearer(settings, "s-1", Role.SUPERVISOR)
    case_id = await an_accepted_case(settings, http, parts)
    intact = (await http.get(f"/v1/cases/{case_id}/ledger/verify", headers=supervisor)).json()
    document = await stored(parts, case_id)
    assert intact == {
        "case_id": case_id,
        "version": 3,
        "entries": 3,
        "intact": True,
        "head": document["ledger_head"],
        "first_break": None,
    }
    assert document["ledger"][2]["prev_hash"] == document["ledger"][1]["hash"]
    breaks_before = breaks_counted((await http.get("/metrics")).text)

    ledger = document["ledger"]
    ledger[1]["event"] = ledger[1]["event"].replace('"housing-bureau"', '"fire-rescue"')
    await parts.repository.cases.update_one({"_id": case_id}, {"$set": {"ledger": ledger}})

    checked = await http.get(f"/v1/cases/{case_id}/ledger/verify", headers=supervisor)
    assert checked.json()["intact"] is False
    assert checked.json()["first_break"] == {
        "entry": 2,
        "reason": "the entry's contents do not match its hash",
    }
    assert breaks_counted((await http.get("/metrics")).text) == breaks_before + 1
    assert await verify_ledgers(parts.repository, None) == 1
    printed = capsys.readouterr().out.splitlines()
    assert f'{{"case_id": "{case_id}", "entry": 2,' in "\n".join(printed)
    handler = bearer(settings, "h-1", Role.HANDLER, "housing-bureau")
    refused = await http.get(f"/v1/cases/{case_id}/ledger/verify", headers=handler)
    assert refused.status_code == 403


async def test_replaying_the_topic_rebuilds_the_same_chains(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    service_env: dict[str, str],
    namespace: str,
) -> None:
    http, live = service
    case_ids = [await an_accepted_case(settings, http, live) for _ in range(3)]

    async def relayed() -> bool:
        return await live.repository.cases.count_documents({"outbox_pending": True}) == 0

    await eventually(relayed)
    replay_settings = settings_for(service_env, namespace, suffix="_chain_replay")
    async with running_service(replay_settings, workers=("consumer",)) as (_, replayed):

        async def caught_up() -> bool:
            return all([await case_version(replayed, c) == 3 for c in case_ids])

        await eventually(caught_up)
        for case_id in case_ids:
            live_document = await stored(live, case_id)
            replayed_document = await stored(replayed, case_id)
            assert replayed_document["ledger_head"] == live_document["ledger_head"]
            assert [e["hash"] for e in replayed_document["ledger"]] == [
                e["hash"] for e in live_document["ledger"]
            ]
        await replayed.database.client.drop_database(replay_settings.mongodb_database)


async def test_ledgers_stored_before_the_chain_are_linked(
    settings: RemediationSettings, service: tuple[httpx.AsyncClient, Components]
) -> None:
    http, parts = service
    migrated, written = [await an_accepted_case(settings, http, parts) for _ in range(2)]
    hashes = {}
    for case_id in (migrated, written):
        document = await stored(parts, case_id)
        hashes[case_id] = [entry["hash"] for entry in document["ledger"]]
        unlinked = [
            {k: v for k, v in entry.items() if k not in ("hash", "prev_hash")}
            for entry in document["ledger"]
        ]
        await parts.repository.cases.update_one(
            {"_id": case_id}, {"$set": {"ledger": unlinked}, "$unset": {"ledger_head": ""}}
        )
    # A write to an unlinked ledger links it in the same write.
    await publish(settings, [assigned(written, handler="h-2")])

    async def reassigned() -> bool:
        return await case_version(parts, written) == 4

    await eventually(reassigned)
    assert [e["hash"] for e in (await stored(parts, written))["ledger"]][:3] == hashes[written]
    # The startup migration links the rest as they stand.
    assert await parts.repository.chain_unlinked_ledgers() == 1
    document = await stored(parts, migrated)
    assert [entry["hash"] for entry in document["ledger"]] == hashes[migrated]
    assert document["ledger_head"] == hashes[migrated][-1]
    assert await verify_ledgers(parts.repository, migrated) == 0
