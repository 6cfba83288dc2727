"""`cockpit connectors list|test|preview|run|quarantine NAME`: the admin page's actions from a terminal.

Kept apart from cockpit/cli.py so the main command stays a short dispatcher; test and preview
share connectors/probe.py with the web, and run follows `cockpit load` (the writer lock, or a
request to the running scheduler).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

import pandas as pd

from cockpit import config_edit
from cockpit.config import Settings, plant_now
from cockpit.serving import NotPublished, Serving
from cockpit.store import StoreBusy, writer_lock


def add_parser(sub) -> None:
    s = sub.add_parser("connectors", help="list, test, preview or run connectors (the admin page's actions)")
    actions = s.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="name, kind, schedule, state, last run, rows, rejects, data as of")
    for action, help_ in (("test", "reachability, encoding, headers found versus the mapping"),
                          ("preview", "the first 20 mapped rows with each row's validation outcome"),
                          ("run", "load now with a progress bar (like `cockpit load NAME`)"),
                          ("quarantine", "export every quarantined row of NAME to var/exports/*.csv (the writer does it)")):
        a = actions.add_parser(action, help=help_)
        a.add_argument("name", metavar="NAME")
        if action in ("run", "quarantine"):
            a.add_argument("--wait", type=float, default=600,
                           help="seconds to wait for a running scheduler to do it (0: exit 2 at once)")


def scrub(settings: Settings, text: str) -> str:
    try:
        secrets = config_edit.secret_values(config_edit.read_raw(settings.path), os.environ)
    except config_edit.ConfigEditError:
        secrets = []
    return config_edit.redact(text, secrets)


def published(serving: Serving) -> tuple[date | None, dict[str, pd.DataFrame]]:
    """(go-live date, master data) from the serving file; empty when nothing (or an older file) is published."""
    from connectors.probe import MASTER_TABLES

    go_live, master = None, {}
    try:
        value = serving.meta().get("go_live")
        go_live = date.fromisoformat(value) if value else None
    except Exception:  # noqa: BLE001 - not published, or no go-live yet: probing works without it
        return None, {}
    for name in MASTER_TABLES:
        try:
            master[name] = serving.query(f"SELECT * FROM {name}")
        except Exception:  # noqa: BLE001 - a serving file from before master data was published
            continue
    return go_live, master


class Progress:
    """A tqdm bar over the source's rows (total from the export's line count where the kind knows it)."""

    def __init__(self, name: str, stream=None):
        from tqdm import tqdm

        self.totals: dict[str, int] = {}
        self.bar = tqdm(desc=name, unit=" rows", unit_scale=True, file=stream or sys.stderr, dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                   "[{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    def update(self, batch, result) -> None:
        if batch.rows is not None:
            self.totals[batch.source] = batch.rows
        total = sum(self.totals.values())
        self.bar.total = total if total >= result.rows_in else None  # a REST pull: no total known
        self.bar.n = result.rows_in
        self.bar.set_postfix_str(f"quarantined {result.rows_quarantined:,}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def run(settings: Settings, args: argparse.Namespace, writer_command) -> int:
    """Entry point from cockpit.cli; `writer_command` is cli._writer_command (hand-over to the scheduler)."""
    from connectors import probe  # the loader and kinds only when a connectors command runs

    if args.action == "list":
        return list_connectors(settings)
    if args.name not in settings.connectors:
        print(f"cockpit: no connector '{args.name}'; known: {', '.join(settings.connectors)}", file=sys.stderr)
        return 1
    if args.action == "run":
        return run_now(settings, args.name, args.wait, writer_command)
    if args.action == "quarantine":
        return writer_command(settings, "quarantine_export", {"connector": args.name}, args.wait)
    go_live, master = published(Serving(settings.serving_path))
    spec = probe.spec_for_probe(settings.connectors[args.name], go_live)
    if args.action == "test":
        report = probe.probe(spec, plant_now(settings))
        print(scrub(settings, probe.format_probe(report)))
        return 0 if report.ok else 1
    result = probe.preview(spec, master, plant_now(settings))
    print(scrub(settings, probe.format_preview(result)))
    return 1 if result.status == "failed" else 0


def list_connectors(settings: Settings) -> int:
    try:
        status = {s["connector"]: s for s in Serving(settings.serving_path).sources().to_dict("records")}
    except NotPublished:
        status = {}
        print("nothing published yet: run `cockpit load` or start `cockpit scheduler`", file=sys.stderr)
    print(f"{'name':<20} {'system':<7} {'kind':<6} {'stream':<19} {'schedule':<9} {'state':<7} "
          f"{'last run':<20} {'rows':>9} {'rejects':>8}  data as of")
    for name, spec in settings.connectors.items():
        s = status.get(name, {})
        print(f"{name:<20} {spec.system:<7} {spec.kind:<6} {spec.stream:<19} {spec.schedule:<9} "
              f"{s.get('state') or 'never':<7} {_when(s.get('last_run_at')):<20} {s.get('rows_loaded') or 0:>9} "
              f"{s.get('rows_quarantined') or 0:>8}  {_when(s.get('data_as_of'))}")
    return 0


def _when(value) -> str:
    return "" if value is None or pd.isna(value) else str(value)[:19]


def run_now(settings: Settings, name: str, wait_s: float, writer_command) -> int:
    """Like `cockpit load NAME`, with a progress bar when attached to a terminal."""
    from cockpit.writer import Writer

    try:
        with writer_lock(settings, f"cockpit connectors run {name}"):
            writer = Writer(settings)
            progress = Progress(name) if sys.stderr.isatty() else None
            try:
                (r,) = writer.refresh([name], on_batch=progress.update if progress else None)
            finally:
                if progress:
                    progress.close()
                writer.close()
    except StoreBusy:
        return writer_command(settings, "load", {"connectors": [name]}, wait_s)
    print(scrub(settings, f"{r.connector:<20} {r.status:<9} in={r.rows_in} loaded={r.rows_loaded} "
                          f"unchanged={r.rows_unchanged} quarantined={r.rows_quarantined}"
                          + (f"\n    {r.error}" if r.error else "")))
    return 1 if r.status == "failed" else 0
