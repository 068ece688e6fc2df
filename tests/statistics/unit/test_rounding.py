"""The report's rounding rule (DOMAIN.md): exact under 100, else 2 significant figures
rounded down, 余 on the first figure and 多 on the second when something was dropped."""

import pytest

from gridcase_stats.domain.report import sentences
from gridcase_stats.domain.rounding import Approximate, approximate, en_figure, zh_figure


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, Approximate(0, False)),
        (7, Approximate(7, False)),
        (99, Approximate(99, False)),
        (100, Approximate(100, False)),
        (101, Approximate(100, True)),
        (109, Approximate(100, True)),
        (110, Approximate(110, False)),
        (999, Approximate(990, True)),
        (3500, Approximate(3500, False)),
        (3512, Approximate(3500, True)),
        (3936, Approximate(3900, True)),
        (46_000, Approximate(46_000, False)),
        (46_080, Approximate(46_000, True)),
        (1_234_567, Approximate(1_200_000, True)),
    ],
)
def test_counts_are_rounded_down_to_two_significant_figures(
    count: int, expected: Approximate
) -> None:
    assert approximate(count) == expected


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        approximate(-1)


def test_chinese_suffix_depends_on_the_figures_place() -> None:
    assert zh_figure(3936, first=True) == "3900余"
    assert zh_figure(3512, first=False) == "3500多"
    assert zh_figure(3500, first=True) == "3500"
    assert zh_figure(99, first=True) == "99"
    assert zh_figure(101, first=False) == "100多"


def test_english_uses_a_plus_only_when_something_was_dropped() -> None:
    assert en_figure(3936) == "3,900+"
    assert en_figure(3500) == "3,500"
    assert en_figure(42) == "42"
    assert en_figure(100) == "100"
    assert en_figure(101) == "100+"


def test_the_seeds_own_sentence() -> None:
    text_zh, text_en = sentences(
        3936, 3512, ["housing-safety", "public-security", "urban-management", "sanitation"]
    )
    assert text_zh == "排查自建房安全、社会治安、城市管理等方面隐患问题3900余个，已化解3500多个"
    assert text_en == (
        "Found 3,900+ hidden hazards in self-built housing safety, public security, "
        "urban management and other areas; resolved 3,500+."
    )


def test_exact_round_numbers_and_small_counts_get_no_suffix() -> None:
    text_zh, text_en = sentences(3500, 57, ["housing-safety", "fire-safety"])
    assert text_zh == "排查自建房安全、消防安全方面隐患问题3500个，已化解57个"
    assert (
        text_en
        == "Found 3,500 hidden hazards in self-built housing safety and fire safety; resolved 57."
    )


def test_boundaries_around_one_hundred() -> None:
    assert sentences(99, 100, [])[0] == "排查隐患问题99个，已化解100个"
    assert sentences(101, 101, [])[0] == "排查隐患问题100余个，已化解100多个"
    assert sentences(1, 0, ["other"])[1] == "Found 1 hidden hazard in other; resolved 0."
