"""Branch coverage per package against its floor, after `make test` measured it (pytest
--cov: the in-process code of unit, integration and end-to-end tests). Prints each
package with its domain and handlers; exits 1 if any package falls below its floor."""

import io
import sys

import coverage

FLOORS = {
    "gridcase_contracts": 95.0,
    "gridcase_runtime": 89.5,
    "gridcase_intake": 93.0,
    "gridcase_assignment": 95.5,
    "gridcase_remediation": 95.5,
    "gridcase_stats": 94.5,
}
"""Per cent of statements and branches; raise a floor when tests raise its package."""

AREAS = {"domain": ("domain/*",), "handlers": ("handlers.py", "handlers/*")}
"""The areas printed per package (handlers: a module, or a package by area)."""


def percent(measured: coverage.Coverage, *patterns: str) -> float | None:
    try:
        return measured.report(include=list(patterns), file=io.StringIO())
    except coverage.exceptions.NoDataError:
        return None


def main() -> int:
    measured = coverage.Coverage()
    measured.load()
    below = []
    for package, floor in FLOORS.items():
        total = percent(measured, f"*/{package}/*") or 0.0
        areas = [
            f"{area} {found:.1f}"
            for area, patterns in AREAS.items()
            if (found := percent(measured, *(f"*/{package}/{p}" for p in patterns))) is not None
        ]
        print(f"{package:22} {total:5.1f} % (floor {floor:.0f})  {', '.join(areas)}")
        if total < floor:
            below.append(f"{package} {total:.1f} % < {floor:.0f} %")
    if below:
        print("branch coverage below its floor: " + "; ".join(below), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
