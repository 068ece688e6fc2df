"""PNG charts with matplotlib's Agg canvas (no GUI, no global pyplot state)."""

import io
from collections import defaultdict

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gridcase_contracts.codes import CATEGORY_NAMES, Category

Series = dict[str, dict[str, int]]
"""category -> period -> count."""


def _label(category: str) -> str:
    try:
        return CATEGORY_NAMES[Category(category)][1]
    except ValueError:
        return category


def found_vs_resolved_png(found: Series, resolved: Series, *, title: str) -> bytes:
    """Found (solid) and resolved (dashed) per period, one colour per category."""
    periods = sorted(
        {period for series in (found, resolved) for s in series.values() for period in s}
    )
    figure = Figure(figsize=(10, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    categories = sorted(set(found) | set(resolved))
    colours = defaultdict(
        lambda: "grey", zip(categories, [f"C{i}" for i in range(10)], strict=False)
    )
    positions = range(len(periods))
    for category in categories:
        for series, style, word in ((found, "-", "found"), (resolved, "--", "resolved")):
            values = [series.get(category, {}).get(period, 0) for period in periods]
            axes.plot(
                positions,
                values,
                linestyle=style,
                marker="o",
                color=colours[category],
                label=f"{_label(category)} {word}",
            )
    axes.set_xticks(list(positions), periods, rotation=45, ha="right")
    axes.set_ylabel("cases")
    axes.set_title(title)
    if categories:
        axes.legend(fontsize="small", ncols=2)
    else:
        axes.text(0.5, 0.5, "no cases in this window", ha="center", transform=axes.transAxes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
