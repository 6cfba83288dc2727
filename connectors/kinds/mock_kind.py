"""Mock sources: the deterministic demo plant, pulled from a high-water mark up to now (live demo)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from connectors.base import SOURCE_FILE, SOURCE_LINE, Connector, RawBatch, RunContext
from connectors.registry import register

MASTER_STREAMS = ("org_unit", "product", "meter")


def history_start(now: datetime, months: int) -> datetime:
    """First day of the month `months` before now: whole months keep monthly KPIs comparable."""
    total = now.year * 12 + now.month - 1 - months
    return datetime(total // 12, total % 12 + 1, 1)


@register
class MockConnector(Connector):
    kind = "mock"
    options = frozenset({"master", "seed", "go_live", "history_months"})  # the config's [demo] table
    description = "Generated demo plant (deterministic per seed, unit and time); no files needed"

    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        from connectors.demo import DemoPlant  # heavy numpy code only when a mock actually runs

        opts = self.spec.options
        master = Path(str(opts.get("master", "sample_data/master")))
        master = master if master.is_absolute() else self.spec.base_dir / master
        go_live = opts.get("go_live")
        plant = DemoPlant(
            master_dir=master,
            seed=int(opts.get("seed", 42)),
            go_live=go_live if isinstance(go_live, date) else date.fromisoformat(str(go_live)),
        )
        start = (
            datetime.fromisoformat(ctx.state["high_water_mark"])
            if "high_water_mark" in ctx.state
            else history_start(ctx.now, int(opts.get("history_months", 24)))
        )
        end = ctx.now.replace(microsecond=0)
        if end <= start and self.spec.stream not in MASTER_STREAMS:
            return
        frame = plant.generate(self.spec.stream, start, end).reset_index(drop=True)
        source = f"mock:{self.spec.stream} [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M})"
        frame[SOURCE_FILE] = source
        frame[SOURCE_LINE] = range(1, len(frame) + 1)
        self.new_state = {"high_water_mark": end.isoformat()}
        yield RawBatch(frame, source)
