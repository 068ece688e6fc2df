"""`gridcase-remediation`: serve the API and workers, refold projections (`rebuild`), or
recompute the ledgers' hash chains (`verify-ledgers`)."""

import argparse
import asyncio
import json
from collections.abc import AsyncIterator

from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.bootstrap import build
from gridcase_remediation.config import SERVICE, RemediationSettings
from gridcase_remediation.entrypoints.api import create_app
from gridcase_remediation.handlers import check_chains, rebuild_projections
from gridcase_runtime.app import serve


async def verify_ledgers(repository: CaseRepository, case_id: str | None) -> int:
    """Prints every broken chain and a summary as JSON lines; 1 if any chain is broken."""

    async def one() -> AsyncIterator[str]:
        yield case_id or ""

    checked, broken = await check_chains(repository, one() if case_id else repository.case_ids())
    for broken_id, found in broken.items():
        print(json.dumps({"case_id": broken_id, "entry": found.entry, "reason": found.reason}))
    print(json.dumps({"checked": checked, "broken": len(broken)}))
    return 1 if broken else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="gridcase-remediation")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")
    rebuild_cmd = commands.add_parser("rebuild", help="rebuild projections from the ledgers")
    rebuild_cmd.add_argument("--case-id", help="only this case")
    verify_cmd = commands.add_parser(
        "verify-ledgers", help="recompute every ledger's hash chain; exit 1 on a break"
    )
    verify_cmd.add_argument("--case-id", help="only this case")
    args = parser.parse_args()
    settings = RemediationSettings()
    if args.command == "verify-ledgers":
        parts = build(settings, workers=())
        raise SystemExit(asyncio.run(verify_ledgers(parts.repository, args.case_id)))
    if args.command == "rebuild":
        parts = build(settings, workers=())
        checked, repaired = asyncio.run(rebuild_projections(parts.repository, args.case_id))
        print(json.dumps({"checked": checked, "repaired": repaired}))
        return
    serve(create_app(settings), settings, SERVICE)


if __name__ == "__main__":
    main()
