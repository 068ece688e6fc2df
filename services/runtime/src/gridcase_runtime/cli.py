"""The `gridcase` command: tokens and api keys for local use, and topic setup."""

import argparse
import sys

from gridcase_contracts.topics import ALL_TOPICS
from gridcase_runtime.auth import Role, create_api_key, mint_token
from gridcase_runtime.kafka import ensure_topics
from gridcase_runtime.settings import ServiceSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gridcase", description="gridcase command-line tool")
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="print a signed bearer token for local use")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--sub", required=True, help="user id the token speaks for")
    token.add_argument("--department", help="department code (required for handlers)")
    token.add_argument("--team", help="volunteer team code")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")

    api_key = commands.add_parser("api-key", help="Open311 api keys")
    api_key_commands = api_key.add_subparsers(dest="api_key_command", required=True)
    create = api_key_commands.add_parser("create", help="print a new Open311 api_key")
    create.add_argument("--name", required=True, help="client name the key identifies")

    commands.add_parser("topics", help="create the Kafka topics with their partition counts")

    args = parser.parse_args(argv)
    settings = ServiceSettings()
    try:
        if args.command == "token":
            print(
                mint_token(
                    settings,
                    subject=args.sub,
                    role=Role(args.role),
                    department=args.department,
                    team=args.team,
                    name=args.name,
                    ttl_s=args.ttl,
                )
            )
        elif args.command == "api-key":
            print(create_api_key(settings, args.name))
        elif args.command == "topics":
            specs = [settings.topic(spec) for spec in ALL_TOPICS]
            ensure_topics(settings.kafka_bootstrap_servers, specs)
            for spec in specs:
                print(f"{spec.name}: {spec.partitions} partitions")
    except ValueError as error:
        print(f"gridcase: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
