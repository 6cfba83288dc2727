"""The scheduler process: the single writer. Runs each connector on its schedule and refreshes KPIs.

All jobs share one worker thread, because the store has one connection and DuckDB allows one
writing process; coalescing and max_instances=1 keep a slow load from piling up runs.
"""

from __future__ import annotations

import logging
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from cockpit import config as config_mod
from cockpit import requests as req
from cockpit.config import Settings, parse_schedule
from cockpit.store import writer_lock
from cockpit.writer import Writer

log = logging.getLogger(__name__)


class CockpitScheduler:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.writer: Writer | None = None
        self.changes: list = []  # per load that changed data: the first day to recompute (None: everything)
        self.status_dirty = False
        self._config_mtime = settings.path.stat().st_mtime_ns if settings.path.exists() else 0
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=settings.timezone,
        )

    # --- jobs (all run on the single worker thread) ---

    def run_connector(self, name: str) -> None:
        results = self.writer.load([name])
        if any(r.changed for r in results):
            self.changes.append(self.writer.recompute_from(results))
        self.status_dirty = True

    def refresh(self) -> None:
        """Recompute from the earliest day the loads since the last refresh changed (decision 17), then publish."""
        if self.changes:
            since = None if None in self.changes else min(self.changes)
            self.changes = []
            self.writer.compute(since=since)
        if self.status_dirty or not self.settings.serving_path.exists():
            self.status_dirty = False
            self.writer.publish()

    def handle_requests(self) -> None:
        for path in req.pending(self.settings.requests_dir):
            try:
                import json

                body = json.loads(path.read_text())
                result = self.execute(body["action"], body.get("args", {}))
                req.answer(path, {"ok": True, **result})
            except Exception as exc:  # a bad request must not stop the writer
                log.exception("request %s failed", path.name)
                req.answer(path, {"ok": False, "error": str(exc)})

    def execute(self, action: str, args: dict) -> dict:
        return self.writer.execute(action, args)

    def reload_config(self) -> None:
        """IT edits reach the scheduler through the config file; pick them up without a restart."""
        try:
            mtime = self.settings.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._config_mtime:
            return
        self._config_mtime = mtime
        try:
            settings = config_mod.load(self.settings.path)
        except config_mod.ConfigError as exc:
            log.error("config change ignored: %s", exc)
            return
        self.settings = settings
        self.writer.settings = settings
        self.schedule_connectors()
        log.info("config reloaded: %d connectors", len(settings.connectors))

    # --- lifecycle ---

    def schedule_connectors(self) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith("connector:"):
                job.remove()
        for name, spec in self.settings.connectors.items():
            self.scheduler.add_job(self.run_connector, args=[name], id=f"connector:{name}", name=name,
                                   **parse_schedule(spec.schedule))

    def start(self, initial_load: bool = True) -> None:
        if initial_load:
            self.writer.refresh()
        self.schedule_connectors()
        tick = max(1, min(5, self.settings.refresh_s))
        self.scheduler.add_job(self.refresh, "interval", seconds=tick, id="refresh")
        self.scheduler.add_job(self.handle_requests, "interval", seconds=1, id="requests")
        self.scheduler.add_job(self.reload_config, "interval", seconds=10, id="config")
        self.scheduler.start()

    def run_forever(self, stop: threading.Event | None = None, initial_load: bool = True) -> None:
        """Hold the writer lock for the whole life of the process; StoreBusy propagates to the caller."""
        stop = stop or threading.Event()
        with writer_lock(self.settings, "scheduler"):
            self.writer = Writer(self.settings)
            try:
                self.start(initial_load)
                stop.wait()
            finally:
                if self.scheduler.running:
                    self.scheduler.shutdown(wait=True)
                self.writer.close()
