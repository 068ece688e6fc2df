"""The period report in the seed's own form: "排查自建房安全、社会治安、城市管理等方面隐患问题
3900余个，已化解3500多个"."""

from collections import Counter
from collections.abc import Iterable
from typing import Any

from gridcase_contracts.codes import CATEGORY_NAMES, Category
from gridcase_stats.domain.case_state import CaseState
from gridcase_stats.domain.figures import Metric, Scope, facts, in_scope, summary
from gridcase_stats.domain.rounding import en_figure, zh_figure

NAMED_AREAS = 3
"""How many categories the sentence names before "等方面"."""


def _names(category: str) -> tuple[str, str]:
    try:
        return CATEGORY_NAMES[Category(category)]
    except ValueError:
        return category, category


def _english_areas(names: list[str], more: bool) -> str:
    if not names:
        return ""
    if more:
        listed = ", ".join(names) + " and other areas"
    elif len(names) == 1:
        listed = names[0]
    else:
        listed = ", ".join(names[:-1]) + " and " + names[-1]
    return f" in {listed}"


def sentences(found: int, resolved: int, categories: list[str]) -> tuple[str, str]:
    """The Chinese and English sentences for `found` and `resolved`, naming the leading
    `categories` (most found first)."""
    named = categories[:NAMED_AREAS]
    zh_names = [_names(category)[0] for category in named]
    en_names = [_names(category)[1].lower() for category in named]
    more = len(categories) > NAMED_AREAS
    zh_areas = "、".join(zh_names) + ("等方面" if more else "方面") if named else ""
    found_zh, resolved_zh = zh_figure(found, first=True), zh_figure(resolved, first=False)
    text_zh = f"排查{zh_areas}隐患问题{found_zh}个，已化解{resolved_zh}个"
    noun = "hidden hazard" if found == 1 else "hidden hazards"
    areas = _english_areas(en_names, more)
    text_en = f"Found {en_figure(found)} {noun}{areas}; resolved {en_figure(resolved)}."
    return text_zh, text_en


def report(states: Iterable[CaseState], scope: Scope) -> dict[str, Any]:
    """Counts of the period with the report sentences."""
    states = list(states)
    figures = summary(states, scope)
    by_category: Counter[str] = Counter(
        state.category
        for state in in_scope(states, scope)
        for metric, at in facts(state)
        if metric is Metric.FOUND and scope.contains(at)
    )
    ranked = sorted(by_category, key=lambda category: (-by_category[category], category))
    text_zh, text_en = sentences(figures[Metric.FOUND], figures[Metric.RESOLVED], ranked)
    return {
        "counts": figures,
        "found_by_category": {category: by_category[category] for category in ranked},
        "text_zh": text_zh,
        "text_en": text_en,
    }
