"""KPIs: declarative definitions, their elements, the engine that computes snapshots, and comparisons."""
