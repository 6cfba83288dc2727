"""Component ids in one place, so callbacks and tests never disagree on a string."""

URL = "url"
PAGE = "page"
TICK = "tick"
ROTATE = "rotate-tick"
VERSION = "serving-version"
CLOCK = "header-clock"
AS_OF = "header-as-of"
PERIOD_LABEL = "header-period"
TILES = "outcome-tiles"
OEE_CHART = "chart-oee"
ENERGY_CHART = "chart-energy"
OUTPUT_CHART = "chart-output"
SOURCES = "source-strip"
DRILL_PERIOD = "drill-period"
DRILL_GRAIN = "drill-grain"
DRILL_BODY = "drill-body"


def tile(kpi_id: str) -> str:
    return f"tile-{kpi_id}"
