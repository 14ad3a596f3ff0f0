"""Text for people: sizes in B, KiB, MiB, GiB, and rows as aligned columns."""

from __future__ import annotations

from collections.abc import Sequence


def human(size: int) -> str:
    """Bytes for people (B, KiB, MiB, GiB); a negative size keeps its sign."""
    sign, magnitude = ("-" if size < 0 else ""), abs(size)
    if magnitude < 1024:
        return f"{sign}{magnitude} B"
    if magnitude < 1 << 20:
        return f"{sign}{magnitude / 1024:.1f} KiB"
    if magnitude < 1 << 30:
        return f"{sign}{magnitude / (1 << 20):.1f} MiB"
    return f"{sign}{magnitude / (1 << 30):.2f} GiB"


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = (), indent: str = "  ", gap: str = "  ") -> list[str]:
    """Rows as aligned columns: the columns whose index is in ``right`` are right-aligned (numbers)."""
    if not rows:
        return []
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append((indent + gap.join(cells)).rstrip())
    return lines
