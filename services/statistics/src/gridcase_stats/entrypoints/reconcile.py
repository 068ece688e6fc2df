"""Console script `gridcase-stats-reconcile`: recomputes every figure by replaying the
case-events topic from the earliest offset into the same domain aggregation, compares it
with the live service's figures over HTTP, and exits 1 if they differ.

The live service may lag behind the topic for a moment, so the comparison is repeated
(reading what arrived meanwhile) until the two agree or `--timeout` seconds pass."""

import argparse
import json
import os
import sys
import time
import urllib.request
from typing import Any

from gridcase_runtime.oidc import client_credentials
from gridcase_stats.adapters.replay import TopicReplay
from gridcase_stats.config import StatsSettings
from gridcase_stats.domain.case_state import CaseState
from gridcase_stats.domain.figures import all_figures
from gridcase_stats.domain.reconciliation import differences
from gridcase_stats.handlers import record_event


def live_figures(url: str, token: str) -> dict[str, list[dict[str, Any]]]:
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/stats/figures", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        tables: dict[str, list[dict[str, Any]]] = json.load(response)["tables"]
    return tables


def reconcile(
    settings: StatsSettings, *, url: str, token: str, timeout_s: float, out: Any = sys.stdout
) -> int:
    """0 when replay and live service agree (within `timeout_s`), 1 otherwise."""
    replay = TopicReplay(
        settings.kafka_bootstrap_servers, settings.case_events_topic, settings.verifier()
    )
    cases: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            replay.read_to_end(lambda event: record_event(cases, event))
            expected = all_figures(CaseState.from_json(value) for value in cases.values())
            found = differences(expected, live_figures(url, token))
            if not found:
                print(
                    f"reconciled: {len(cases)} cases, {sum(map(len, expected.values()))} rows "
                    f"in {len(expected)} tables agree ({replay.skipped} invalid records skipped)",
                    file=out,
                )
                return 0
            if time.monotonic() > deadline:
                print(f"DIFFERENCES ({len(found)}):", file=out)
                for line in found:
                    print(f"  {line}", file=out)
                return 1
            time.sleep(1.0)
    finally:
        replay.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="gridcase-stats-reconcile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8004", help="the live service")
    parser.add_argument(
        "--token",
        help="bearer token of an admin (default: the gridcase-ops service account's, with the "
        "secret in GRIDCASE_CLIENT_SECRET)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for agreement")
    args = parser.parse_args(argv)
    settings = StatsSettings()
    secret = os.environ.get("GRIDCASE_CLIENT_SECRET")
    if not args.token and not secret:
        parser.error("give --token, or GRIDCASE_CLIENT_SECRET for the gridcase-ops account")
    token = args.token or client_credentials(settings, "gridcase-ops", str(secret))[0]
    sys.exit(reconcile(settings, url=args.url, token=token, timeout_s=args.timeout))
