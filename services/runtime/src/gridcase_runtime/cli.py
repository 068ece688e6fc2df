"""The `gridcase` command: tokens from the OpenID Connect provider, and topic setup."""

import argparse
import getpass
import os
import sys

from gridcase_contracts.topics import ALL_TOPICS
from gridcase_runtime.kafka import ensure_topics
from gridcase_runtime.oidc import TokenError, client_credentials, password_grant
from gridcase_runtime.settings import ServiceSettings


def main(argv: list[str] | None = None) -> int:
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

    commands.add_parser("topics", help="create the Kafka topics with their partition counts")

    args = parser.parse_args(argv)
    settings = ServiceSettings()
    try:
        if args.command == "token":
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
                    parser.error("--client needs --client-secret or GRIDCASE_CLIENT_SECRET")
                access_token, _ = client_credentials(settings, args.client, secret)
            print(access_token)
        elif args.command == "topics":
            specs = [settings.topic(spec) for spec in ALL_TOPICS]
            ensure_topics(settings.kafka_bootstrap_servers, specs)
            for spec in specs:
                print(f"{spec.name}: {spec.partitions} partitions")
    except (TokenError, ValueError) as error:
        print(f"gridcase: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
