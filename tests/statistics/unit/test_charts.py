"""The printable chart: bars by category for one period, lines over several, Chinese by
default, the legend clear of the data."""

import io
from pathlib import Path

import pytest
from PIL import Image

from gridcase_stats.adapters.charts import CJK_FAMILY, found_vs_resolved_png

ONE_MONTH_FOUND = {
    "housing-safety": {"2026-11": 120},
    "urban-management": {"2026-11": 80},
    "public-security": {"2026-11": 45},
}
ONE_MONTH_RESOLVED = {"housing-safety": {"2026-11": 90}, "urban-management": {"2026-11": 70}}
OUTPUT = Path(__file__).resolve().parents[3] / "test-results" / "charts"


def render(name: str, png: bytes) -> Image.Image:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / name).write_bytes(png)
    return Image.open(io.BytesIO(png))


def test_a_cjk_font_from_debian_s_packages_is_found() -> None:
    assert CJK_FAMILY is not None, "install fonts-wqy-microhei (infra.py install does)"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_one_period_is_drawn_as_bars_by_category(language: str) -> None:
    image = render(
        f"bars-{language}.png",
        found_vs_resolved_png(
            ONE_MONTH_FOUND, ONE_MONTH_RESOLVED, interval="month", language=language
        ),
    )
    assert image.size == (1100, 605)
    assert {"#1f4e79", "#2e7d32"} <= colours(image)


def test_several_periods_are_drawn_as_two_lines() -> None:
    found = {"housing-safety": {"2026-09": 30, "2026-10": 50, "2026-11": 40}}
    resolved = {"housing-safety": {"2026-10": 20, "2026-11": 45}}
    image = render("lines-zh.png", found_vs_resolved_png(found, resolved, interval="month"))
    assert {"#1f4e79", "#2e7d32"} <= colours(image)


def test_an_empty_window_says_so() -> None:
    image = render("empty.png", found_vs_resolved_png({}, {}, interval="day"))
    assert image.size == (1100, 605)


def colours(image: Image.Image) -> set[str]:
    found = image.convert("RGB").getcolors(maxcolors=1 << 16) or []
    return {"#{:02x}{:02x}{:02x}".format(*rgb) for _, rgb in found}
