"""The report's way of giving counts: exact under 100, else two significant figures
rounded down, marked "more than" when anything was dropped (余 first, 多 second, + in English)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Approximate:
    shown: int
    dropped: bool
    """True when `shown` is less than the exact count."""


def approximate(count: int) -> Approximate:
    """3936 -> 3900 (dropped); 3500 -> 3500; 99 -> 99; 101 -> 100 (dropped)."""
    if count < 0:
        raise ValueError("a count cannot be negative")
    if count < 100:
        return Approximate(count, False)
    unit = 10 ** (len(str(count)) - 2)
    shown = count // unit * unit
    return Approximate(shown, shown != count)


def zh_figure(count: int, *, first: bool) -> str:
    """ "3900余" on a sentence's first figure, "3500多" on the second, "3500" when exact."""
    figure = approximate(count)
    suffix = ("余" if first else "多") if figure.dropped else ""
    return f"{figure.shown}{suffix}"


def en_figure(count: int) -> str:
    """ "3,900+" when something was dropped, "3,500" when exact."""
    figure = approximate(count)
    return f"{figure.shown:,}" + ("+" if figure.dropped else "")
