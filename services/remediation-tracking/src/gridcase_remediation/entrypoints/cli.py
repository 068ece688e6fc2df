"""`gridcase-remediation`: serve the API and workers, or refold projections (`rebuild`)."""

import argparse
import asyncio
import json

from gridcase_remediation.bootstrap import SERVICE, build
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.entrypoints.api import create_app
from gridcase_remediation.handlers import rebuild_projections
from gridcase_runtime.app import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="gridcase-remediation")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")
    rebuild_cmd = commands.add_parser("rebuild", help="rebuild projections from the ledgers")
    rebuild_cmd.add_argument("--case-id", help="only this case")
    args = parser.parse_args()
    settings = RemediationSettings()
    if args.command == "rebuild":
        parts = build(settings, workers=())
        checked, repaired = asyncio.run(rebuild_projections(parts.repository, args.case_id))
        print(json.dumps({"checked": checked, "repaired": repaired}))
        return
    serve(create_app(settings), settings, SERVICE)


if __name__ == "__main__":
    main()
