"""PNG charts for reports and e-mail, drawn with matplotlib's Agg canvas (no GUI, no global
pyplot state): bars by category for one period, lines over several periods, Chinese labels
by default (a CJK font from Debian's packages), the legend outside the plotting area."""

import io
from pathlib import Path
from typing import Literal

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gridcase_contracts.codes import CATEGORY_NAMES, Category

Series = dict[str, dict[str, int]]
"""category -> period -> count."""
Language = Literal["zh", "en"]

CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
FOUND_COLOUR, RESOLVED_COLOUR = "#1f4e79", "#2e7d32"
WORDS: dict[Language, dict[str, str]] = {
    "zh": {
        "found": "排查",
        "resolved": "化解",
        "cases": "件数",
        "title": "隐患排查与化解",
        "none": "本期没有案件",
        "day": "按日",
        "week": "按周",
        "month": "按月",
        "year": "按年",
    },
    "en": {
        "found": "Found",
        "resolved": "Resolved",
        "cases": "cases",
        "title": "Hazards found and resolved",
        "none": "no cases in this window",
        "day": "per day",
        "week": "per week",
        "month": "per month",
        "year": "per year",
    },
}


def _cjk_family() -> str | None:
    """Registers the first CJK font installed and returns its family name."""
    for path in CJK_FONTS:
        if path.exists():
            font_manager.fontManager.addfont(str(path))
            return str(font_manager.FontProperties(fname=str(path)).get_name())
    return None


CJK_FAMILY = _cjk_family()


def _category_label(category: str, language: Language) -> str:
    try:
        chinese, english = CATEGORY_NAMES[Category(category)]
    except ValueError:
        return category
    return chinese if language == "zh" else english


def found_vs_resolved_png(
    found: Series, resolved: Series, *, interval: str, language: Language = "zh"
) -> bytes:
    """Found vs resolved: bars per category when the window holds one period, else two
    lines (all categories together) over the periods. Chinese needs a CJK font; without
    one the chart is drawn in English."""
    if language == "zh" and CJK_FAMILY is None:
        language = "en"
    words = WORDS[language]
    periods = sorted(
        {period for series in (found, resolved) for s in series.values() for period in s}
    )
    families = [CJK_FAMILY, "DejaVu Sans"] if CJK_FAMILY else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        figure = Figure(figsize=(10, 5.5), dpi=110)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        if not periods:
            axes.text(0.5, 0.5, words["none"], ha="center", transform=axes.transAxes)
            axes.set_axis_off()
        elif len(periods) == 1:
            _bars_by_category(axes, found, resolved, words, language)
        else:
            _lines_over_periods(axes, found, resolved, periods, words)
        figure.suptitle(_heading(words, interval, periods, language), fontsize=14)
        if periods:
            axes.set_ylabel(words["cases"])
            axes.spines[["top", "right"]].set_visible(False)
            axes.grid(axis="y", color="#dddddd")
            axes.set_axisbelow(True)
            figure.legend(loc="upper right", ncols=2, frameon=False, bbox_to_anchor=(0.98, 0.93))
        figure.tight_layout(rect=(0, 0, 1, 0.88))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _heading(words: dict[str, str], interval: str, periods: list[str], language: Language) -> str:
    if not periods:
        return words["title"]
    span = periods[0] if len(periods) == 1 else f"{periods[0]} – {periods[-1]}"
    if language == "zh":
        return f"{words['title']}（{words[interval]}，{span}）"
    return f"{words['title']} {words[interval]}, {span}"


def _bars_by_category(
    axes: Axes, found: Series, resolved: Series, words: dict[str, str], language: Language
) -> None:
    categories = sorted(
        set(found) | set(resolved),
        key=lambda c: -sum(found.get(c, {}).values()),
    )
    totals = [
        (sum(found.get(c, {}).values()), sum(resolved.get(c, {}).values())) for c in categories
    ]
    positions = range(len(categories))
    width = 0.38
    found_bars = axes.bar(
        [p - width / 2 for p in positions],
        [f for f, _ in totals],
        width,
        color=FOUND_COLOUR,
        label=words["found"],
    )
    resolved_bars = axes.bar(
        [p + width / 2 for p in positions],
        [r for _, r in totals],
        width,
        color=RESOLVED_COLOUR,
        label=words["resolved"],
    )
    for bars in (found_bars, resolved_bars):
        axes.bar_label(bars, padding=2, fontsize=9)
    labels = [_category_label(c, language) for c in categories]
    axes.set_xticks(list(positions), labels, rotation=30 if language == "en" else 0, ha="center")
    axes.margins(y=0.12)


def _lines_over_periods(
    axes: Axes, found: Series, resolved: Series, periods: list[str], words: dict[str, str]
) -> None:
    positions = range(len(periods))
    for series, colour, word, style in (
        (found, FOUND_COLOUR, words["found"], "-"),
        (resolved, RESOLVED_COLOUR, words["resolved"], "--"),
    ):
        values = [sum(s.get(period, 0) for s in series.values()) for period in periods]
        axes.plot(
            positions, values, linestyle=style, marker="o", color=colour, label=word, linewidth=2
        )
    step = max(1, len(periods) // 12)
    axes.set_xticks(list(positions)[::step], periods[::step], rotation=30, ha="right")
    axes.set_ylim(bottom=0)
