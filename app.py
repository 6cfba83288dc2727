"""Composition root. `python app.py`: scheduler and web in one process for a single machine.

Production runs `cockpit scheduler` once and the web as `gunicorn -w 2 app:server`; the web only
reads the published serving file, so any number of workers is safe.
"""

from __future__ import annotations

import logging
import sys
import threading

from cockpit import config
from cockpit.web import create_app

settings = config.load()
app = create_app(settings)
server = app.server


def main() -> int:
    from waitress import serve

    from cockpit.scheduler import CockpitScheduler
    from cockpit.store import StoreBusy, describe_holder, holder

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job per second is noise
    stop = threading.Event()
    scheduler = CockpitScheduler(settings)

    def run_writer():
        try:
            scheduler.run_forever(stop)  # builds the demo on first start: connectors load, then compute
        except StoreBusy:
            logging.warning("a writer already runs (%s); serving its data", describe_holder(holder(settings)))

    # No Flask reloader here: it would start a second process and with it a second scheduler.
    threading.Thread(target=run_writer, name="writer", daemon=True).start()
    print(f"未来工厂驾驶舱 on http://{settings.web_host}:{settings.web_port}/", flush=True)
    try:
        serve(server, host=settings.web_host, port=settings.web_port, threads=8)
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
