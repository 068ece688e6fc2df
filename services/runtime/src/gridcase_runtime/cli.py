"""The `gridcase` command: tokens from the OpenID Connect provider, topic setup, the
services' Kafka users and ACLs, and their event-signing keys."""

import argparse
import getpass
import os
import sys
from pathlib import Path

from kafka.errors import KafkaError

from gridcase_contracts.codes import Service
from gridcase_contracts.topics import ALL_TOPICS
from gridcase_runtime.kafka_access import (
    PRODUCERS,
    AccessError,
    passwords_from_environment,
    provision,
)
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.oidc import TokenError, client_credentials, password_grant
from gridcase_runtime.settings import ServiceSettings
from gridcase_runtime.signing import SigningKey, add_trusted_key, write_private_key


def create_signing_key(service: Service, directory: Path, trusted: Path) -> SigningKey:
    """A new key for `service`: its private half in `<directory>/<service>.key` (replacing
    the one before, whose public half stays trusted), its public half added to `trusted`."""
    key = SigningKey.generate(service)
    add_trusted_key(trusted, key)
    write_private_key(directory, key)
    return key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridcase", description="gridcase command-line tool")
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser(
        "token",
        help="print an access token from the provider (GRIDCASE_JWT_ISSUER)",
        description="A person's token (--user; the password from --password, "
        "GRIDCASE_PASSWORD or a prompt) or a service account's (--client; the secret from "
        "--client-secret or GRIDCASE_CLIENT_SECRET).",
    )
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="user name, e.g. h-housing-1")
    who.add_argument(
        "--client", help="confidential client with a service account, e.g. gridcase-ops"
    )
    token.add_argument("--password", help="the user's password")
    token.add_argument("--client-secret", help="the client's secret")
    token.set_defaults(run=_token)

    topics = commands.add_parser(
        "topics", help="create the Kafka topics with their partition counts"
    )
    topics.set_defaults(run=_topics)
    access = commands.add_parser(
        "kafka-access",
        help="as Kafka's administrator: create the topics, set each service's SCRAM password "
        "(from INTAKE_KAFKA_PASSWORD, ASSIGNMENT_..., REMEDIATION_..., STATISTICS_...) and "
        "grant every service its ACLs (under GRIDCASE_TOPIC_NAMESPACE, if set)",
    )
    access.set_defaults(run=_kafka_access)

    keys = commands.add_parser("keys", help="the services' event-signing keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_create = keys_commands.add_parser(
        "create", help="a new signing key for a service (also rotates its key)"
    )
    key_create.add_argument("--service", required=True, choices=[s.value for s in PRODUCERS])
    keys_init = keys_commands.add_parser(
        "init", help="a signing key for every producing service that has none yet"
    )
    for command in (key_create, keys_init):
        command.add_argument(
            "--dir", type=Path, required=True, help="where private keys are written"
        )
        command.add_argument(
            "--trusted", type=Path, required=True, help="the trusted public keys file"
        )
        command.set_defaults(run=_keys)
    return parser


def _token(args: argparse.Namespace) -> None:
    settings = ServiceSettings()
    if args.user:
        password = (
            args.password
            or os.environ.get("GRIDCASE_PASSWORD")
            or getpass.getpass(f"password of {args.user}: ")
        )
        access_token, _ = password_grant(settings, args.user, password)
    else:
        secret = args.client_secret or os.environ.get("GRIDCASE_CLIENT_SECRET")
        if not secret:
            raise UsageError("--client needs --client-secret or GRIDCASE_CLIENT_SECRET")
        access_token, _ = client_credentials(settings, args.client, secret)
    print(access_token)


def _topics(_args: argparse.Namespace) -> None:
    settings = ServiceSettings()
    specs = [settings.topic(spec) for spec in ALL_TOPICS]
    ensure_topics(
        settings.kafka_bootstrap_servers,
        specs,
        replication_factor=settings.kafka_replication_factor,
    )
    for spec in specs:
        print(f"{spec.name}: {spec.partitions} partitions")


def _kafka_access(_args: argparse.Namespace) -> None:
    settings = ServiceSettings()
    passwords = passwords_from_environment()
    provision(
        settings.kafka_bootstrap_servers,
        namespace=settings.topic_namespace,
        passwords=passwords,
        replication_factor=settings.kafka_replication_factor,
    )
    users = ", ".join(sorted(service.value for service in passwords)) or "none"
    print(f"topics and ACLs granted; passwords set for: {users}")


def _keys(args: argparse.Namespace) -> None:
    services = (
        [Service(args.service)]
        if args.keys_command == "create"
        else [s for s in PRODUCERS if not (args.dir / f"{s.value}.key").exists()]
    )
    for service in services:
        key = create_signing_key(service, args.dir, args.trusted)
        print(f"{service.value}: key {key.key_id} in {args.dir / f'{service.value}.key'}")


class UsageError(Exception):
    """Arguments argparse cannot check alone (answered like argparse's own errors)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except UsageError as error:
        parser.error(str(error))
    except (TokenError, ValueError, AccessError, KafkaError) as error:
        print(f"gridcase: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
