"""How numbers and states read on the wall: no data, error and zero must never look alike."""

from __future__ import annotations

import math

from cockpit.web.i18n import t

STATUS_KEYS = {"no_data", "error", "not_applicable", "not_planned", "insufficient", "partial"}


def number(value: float | None, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100_000:
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


def status_label(status: str, lang: str) -> str:
    return t(status, lang) if status in STATUS_KEYS else ""


def signed_pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}%"


def arrow(change: float | None) -> str:
    """The raw movement, independent of whether it is good: ▲ up, ▼ down, ▬ flat."""
    if change is None:
        return ""
    if abs(change) < 0.05:
        return "▬"
    return "▲" if change > 0 else "▼"


def tone(improvement: float | None) -> str:
    if improvement is None:
        return "neutral"
    if abs(improvement) < 0.05:
        return "flat"
    return "better" if improvement > 0 else "worse"
