"""The KPI registry: every KPI is data (names, unit, direction, lowest level, elements, provenance).

A ratio KPI names its numerator and denominator as linear combinations of elements, so every
roll-up (org level, day to month to year) is Σ numerator / Σ denominator, never a mean of ratios.
A capability KPI (Cp, Cpk) is the one exception: a statistic of one characteristic's sample, computed
per unit at its lowest level from n, Σx and Σx² and never pooled across characteristics or units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.schema import LEVELS

DIRECTIONS = ("lower", "higher")
KINDS = ("ratio", "sum", "product", "capability")
CAPABILITY = ("cp", "cpk")
GRAINS = ("day", "month")


@dataclass(frozen=True)
class Element:
    """A measure at (unit, production day): SQL returning unit_id, day, value."""

    name: str
    unit: str
    description: str
    sql: str
    level: str  # lowest level the data arrives at (for documentation)
    source: tuple[str, ...] = ()  # "table.field" it reads, so scenario coverage can say what is missing
    # table of `source` -> another table that stands in for it ("headcount" <- "headcount_count"): coverage
    # counts the element's data as fed when either is
    alternatives: tuple[tuple[str, str], ...] = ()
    # For a capability KPI's sample: SQL returning unit_id, day, characteristic, lsl, usl, n, sum_d, sum_dd
    # with d = value - the group's reference (a constant per characteristic and limits, for precision).
    sample_sql: str = ""
    # True when the SQL buckets only by prod_day() of timestamps, so the engine's shift pass can
    # redefine prod_day as the shift start and get the element per shift (orders, maintenance and
    # dated ERP rows have no shift).
    per_shift: bool = False


@dataclass(frozen=True)
class Kpi:
    id: str
    name_zh: str
    name_en: str
    unit: str
    direction: str
    kind: str
    lowest_level: str
    standard: str
    formula: str
    description: str
    numerator: dict[str, float] = field(default_factory=dict)
    denominator: dict[str, float] = field(default_factory=dict)
    components: tuple[str, ...] = ()  # for kind == 'product'
    capability: str = ""  # for kind == 'capability': 'cp' or 'cpk'
    scale: float = 1.0
    grains: tuple[str, ...] = GRAINS
    scenarios: tuple[str, ...] = ()
    group: str = "iso22400"  # 'outcome' marks the 三降两提升 five
    zero_denominator: str = "insufficient"  # status when the denominator is 0
    min_denominator: float = 0.0  # below it the value is 'insufficient' (MTBF needs >= 5 failure events)
    default_target_pct: float | None = None  # improvement over the baseline used when no target is set
    decimals: int = 1

    def __post_init__(self):
        assert self.direction in DIRECTIONS, self.id
        assert self.kind in KINDS, self.id
        assert self.lowest_level in LEVELS, self.id
        assert set(self.grains) <= set(GRAINS), self.id
        if self.kind == "product":
            assert self.components and not self.numerator, self.id
        elif self.kind == "capability":
            # the denominator names the sample (its n is stored as the snapshot's denominator)
            assert self.capability in CAPABILITY and not self.numerator and len(self.denominator) == 1, self.id
        else:
            assert self.numerator, self.id
        if self.kind == "ratio":
            assert self.denominator, self.id

    @property
    def elements(self) -> set[str]:
        return set(self.numerator) | set(self.denominator)

    @property
    def per_shift(self) -> bool:
        """A day-grain KPI whose every element (or factor) also exists per shift has a shift grain."""
        if "day" not in self.grains or self.kind == "capability":
            return False
        if self.kind == "product":
            return all(KPIS[c].per_shift for c in self.components)
        return all(ELEMENTS[e].per_shift for e in self.elements)

    @property
    def all_grains(self) -> tuple[str, ...]:
        """Every grain a user can ask for, finest first: week rolls up from days, quarter and year from months."""
        out = ("shift",) if self.per_shift else ()
        if "day" in self.grains:
            out += ("day", "week")
        return out + ("month", "quarter", "year") if "month" in self.grains else out

    def applies_to(self, level: str) -> bool:
        """Below its lowest level a KPI is 不适用: never allocated downwards."""
        return LEVELS.index(level) <= LEVELS.index(self.lowest_level)


ELEMENTS: dict[str, Element] = {}
KPIS: dict[str, Kpi] = {}


def element(e: Element) -> Element:
    if e.name in ELEMENTS:
        raise ValueError(f"element {e.name} declared twice")
    ELEMENTS[e.name] = e
    return e


def kpi(k: Kpi) -> Kpi:
    if k.id in KPIS:
        raise ValueError(f"KPI {k.id} declared twice")
    missing = k.elements - set(ELEMENTS)
    if missing:
        raise ValueError(f"KPI {k.id} uses undeclared elements {sorted(missing)}")
    if k.kind == "product":
        absent = set(k.components) - set(KPIS)
        if absent:
            raise ValueError(f"KPI {k.id} multiplies undeclared KPIs {sorted(absent)}")
    if k.kind == "capability" and not all(ELEMENTS[e].sample_sql for e in k.denominator):
        raise ValueError(f"KPI {k.id} needs a sample element (with sample_sql)")
    KPIS[k.id] = k
    return k


def all_kpis() -> dict[str, Kpi]:
    import kpis.definitions  # noqa: F401 - declarations register themselves on import

    return KPIS


def all_elements() -> dict[str, Element]:
    import kpis.definitions  # noqa: F401

    return ELEMENTS
