"""How tests log in to Kafka. The local broker asks every client for SASL/SCRAM credentials
and its ACLs decide the rest. Tests act as the administrator, a super user, since they
create, read and inspect topics and groups of their own: the root conftest puts the
administrator's KAFKA_* settings into the environment, which every client the services
build reads (KafkaSecurity). A client a test builds itself takes `client_settings`; one
that must act as a service (to meet its ACLs) passes the service's name."""

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from gridcase_runtime.kafka_security import KafkaSecurity

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "admin"


@cache
def kafka_environment(user: str = ADMIN) -> dict[str, str]:
    """The KAFKA_* settings of `user` (the administrator, or a service) on the local broker."""
    found = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "local" / "infra.py"), "kafka-env", user],
        capture_output=True,
        text=True,
        check=True,
    )
    environment: dict[str, str] = json.loads(found.stdout)
    return environment


def use_administrator() -> None:
    """Logs every Kafka client of this process in as the administrator, unless the
    environment already says how to log in."""
    if "KAFKA_SECURITY_PROTOCOL" not in os.environ:
        os.environ.update(kafka_environment())


def client_settings(bootstrap: str, user: str = ADMIN, **settings: Any) -> dict[str, Any]:
    """kafka-python keyword arguments for a client of `bootstrap` logged in as `user`."""
    security = (
        KafkaSecurity()
        if user == ADMIN
        else KafkaSecurity(
            **{
                name.removeprefix("KAFKA_").lower(): value
                for name, value in kafka_environment(user).items()
            }
        )
    )
    return {"bootstrap_servers": bootstrap, **security.client_config(), **settings}
