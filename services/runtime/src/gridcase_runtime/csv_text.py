"""Rows as a CSV download (RFC 4180: CRLF line endings), for every export."""

import csv
import io
from collections.abc import Iterable
from typing import Any

from fastapi import Response


def to_csv(rows: Iterable[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    """A header, then one line per row. Without `columns`, the header holds every column
    seen in the rows, in first-seen order."""
    if columns is None:
        rows = list(rows)
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = seen
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def csv_response(
    rows: Iterable[dict[str, Any]], filename: str, columns: Iterable[str] | None = None
) -> Response:
    """The rows as an attachment named `filename`."""
    return Response(
        to_csv(rows, columns),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
