"""The `cockpit` command: run the writer or the web, load, compute, and print status and KPIs."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import signal
import sys
import threading

from cockpit import config as config_mod
from cockpit import connectors_cli
from cockpit import requests as req
from cockpit.serving import NotPublished, Serving
from cockpit.store import StoreBusy, writer_lock
from kpis.periods import PERIOD_KINDS

EXIT_BUSY = 2


def _writer_command(settings, action: str, args: dict, wait_s: float) -> int:
    """Do the work holding the lock, or hand it to the running scheduler as a request."""
    from cockpit.writer import Writer

    try:
        with writer_lock(settings, f"cockpit {action}"):
            writer = Writer(settings)
            try:
                result = writer.execute(action, args)
                if action == "load":
                    for r in result["runs"]:
                        print(f"{r['connector']:<20} {r['status']:<9} in={r['rows_in']} loaded={r['rows_loaded']} "
                              f"unchanged={r['rows_unchanged']} quarantined={r['rows_quarantined']}"
                              + (f"\n    {r['error']}" if r["error"] else ""))
                    return 1 if any(r["status"] == "failed" for r in result["runs"]) else 0
                print(json.dumps(result))
                return 0
            except ValueError as exc:
                print(f"cockpit: {exc}", file=sys.stderr)
                return 1
            finally:
                writer.close()
    except StoreBusy as busy:
        if wait_s <= 0:
            print(f"cockpit: {busy}", file=sys.stderr)
            return EXIT_BUSY
        rid = req.submit(settings.requests_dir, action, **args)
        print(f"{busy}; handed to it as request {rid}", file=sys.stderr)
        result = req.wait(settings.requests_dir, rid, wait_s)
        if result is None:
            print(f"cockpit: no answer from the writer within {wait_s:.0f} s (request {rid} stays queued)",
                  file=sys.stderr)
            return EXIT_BUSY
        print(json.dumps(result, ensure_ascii=False, default=str, indent=1))
        return 0 if result.get("ok") else 1


def cmd_scheduler(settings, args) -> int:
    from cockpit.scheduler import CockpitScheduler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        CockpitScheduler(settings).run_forever(stop, initial_load=not args.no_initial_load)
    except StoreBusy as busy:
        print(f"cockpit scheduler: refusing to start: {busy}", file=sys.stderr)
        return EXIT_BUSY
    return 0


def cmd_serve(settings, args) -> int:
    from waitress import serve

    from cockpit.web import create_app

    app = create_app(settings)
    host, port = args.host or settings.web_host, args.port or settings.web_port
    print(f"cockpit web on http://{host}:{port}/ (reads {settings.serving_path})")
    serve(app.server, host=host, port=port, threads=8)
    return 0


def cmd_status(settings, args) -> int:
    serving = Serving(settings.serving_path)
    sources = serving.sources()
    meta = serving.meta()
    if args.json:
        print(sources.to_json(orient="records", date_format="iso", force_ascii=False))
        return 0
    print(f"published {meta.get('published_at')}  data as of {meta.get('last_data_day')}")
    print(f"{'connector':<20} {'state':<7} {'last run':<20} {'rows':>9} {'rejects':>8}  data as of")
    for s in sources.itertuples(index=False):
        print(f"{s.connector:<20} {s.state:<7} {str(s.last_run_at)[:19]:<20} {s.rows_loaded:>9} "
              f"{s.rows_quarantined:>8}  {str(s.data_as_of)[:19]}")
        if s.state == "failed" and s.last_error:
            print(f"    since {str(s.since)[:19]}: {s.last_error}")
    return 0


def cmd_kpis(settings, args) -> int:
    if args.list:
        return cmd_kpi_list(args)
    doc = Serving(settings.serving_path).comparison(args.period, args.unit)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return 0
    print(f"{doc['unit_id']}  report {doc['report']}  baseline {doc['baseline']}")
    for k in doc["kpis"]:
        print(f"{k['name_zh']:<12} {k['unit']:<10} baseline={k['baseline']} report={k['report']} "
              f"improvement={k['improvement_pct']} [{k['status']}]")
    return 0


def cmd_scenarios(settings, args) -> int:
    from cockpit.serving import scenario_report

    doc = scenario_report(Serving(settings.serving_path))
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return 0
    print("summary:", doc["summary"])
    print("foundation:", ", ".join(f"{f['system']}{'✓' if f['connected'] else '✗'}" for f in doc["foundation"]))
    for lvl in doc["levels"]:
        print(f"{lvl['name_zh']}: {lvl['computed']} computed, {lvl['partial']} partial of {lvl['scenarios']}")
    for e in doc["scenarios"]:
        needs = sorted({n for i in e["indicators"] for n in i["needs"]})
        print(f"{e['id']:<10} {e['status']:<12} {e['name_zh']}" + (f"  needs: {'; '.join(needs)}" if needs else ""))
    return 0


def cmd_kpi_list(args) -> int:
    from kpis.catalogue import kpi_scenarios
    from kpis.registry import all_kpis

    rows = [{"id": k.id, "name_zh": k.name_zh, "name_en": k.name_en, "unit": k.unit, "direction": k.direction,
             "kind": k.kind, "formula": k.formula, "lowest_level": k.lowest_level, "grains": list(k.all_grains),
             "standard": k.standard, "scenarios": kpi_scenarios(k.id, k.scenarios), "numerator": k.numerator,
             "denominator": k.denominator, "components": list(k.components)} for k in all_kpis().values()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print(f"{r['id']:<26} {r['name_zh']:<10} {r['unit']:<10} {r['direction']:<6} {r['formula']}  [{r['standard']}]")
    return 0


def cmd_targets(settings, args) -> int:
    if args.action == "import":
        if not args.file:
            print("cockpit targets import FILE.csv", file=sys.stderr)
            return 1
        with open(args.file, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        return _writer_command(settings, "targets", {"rows": rows}, args.wait)
    doc = Serving(settings.serving_path).comparison("month", kpi_ids=None)
    for k in doc["kpis"]:
        if k["target"] is not None:
            print(f"{k['id']:<26} target={k['target']:.4g} warn={k['target_warn']:.4g} ({k['target_source']}) "
                  f"report={k['report']} -> {k['target_status']}")
    return 0


def cmd_docs(settings, args) -> int:
    from kpis.docs import write_docs

    for path in write_docs(args.out):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cockpit", description="未来工厂驾驶舱 Future Factory Cockpit")
    p.add_argument("--config", help="config file (default: $COCKPIT_CONFIG or ./cockpit.toml)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scheduler", help="run the single writer: connectors on schedule, KPIs after loads")
    s.add_argument("--no-initial-load", action="store_true")
    s = sub.add_parser("serve", help="serve the web cockpit (reads the published serving file)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    for name, help_ in (("load", "run connectors now"), ("compute", "recompute KPIs and publish"),
                        ("baseline", "freeze baselines (with --refreeze: recompute them on purpose)")):
        s = sub.add_parser(name, help=help_)
        if name == "load":
            s.add_argument("connectors", nargs="*", metavar="NAME")
        if name == "baseline":
            s.add_argument("--refreeze", action="store_true")
        s.add_argument("--wait", type=float, default=600,
                       help="seconds to wait for a running scheduler to do it (0: exit 2 at once)")
    s = sub.add_parser("status", help="connectors: last run, rows, rejects, freshness")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("kpis", help="KPI values, report period against baseline (--list: definitions)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--list", action="store_true", help="print every KPI definition with its provenance")
    s.add_argument("--period", choices=PERIOD_KINDS, default="month")
    s.add_argument("--unit", help="org unit id (default: the enterprise)")
    s = sub.add_parser("targets", help="KPI targets and warning thresholds: list, or set from a CSV file")
    s.add_argument("action", choices=("list", "import"))
    s.add_argument("file", nargs="?", help="CSV with kpi_id, unit_id, valid_from, target, warn, note")
    s.add_argument("--wait", type=float, default=600)
    s = sub.add_parser("scenarios", help="scenario coverage of both seeds (84 entries)")
    s.add_argument("--json", action="store_true")
    connectors_cli.add_parser(sub)
    s = sub.add_parser("docs", help="regenerate docs/kpis.md and docs/schema.md from the registries")
    s.add_argument("--out", default="docs")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "scheduler" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job per second is noise
    try:
        settings = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"cockpit: config: {exc}", file=sys.stderr)
        return 1
    if args.command in ("load", "compute", "baseline"):
        payload = {"connectors": getattr(args, "connectors", None), "refreeze": getattr(args, "refreeze", False)}
        return _writer_command(settings, args.command, payload, args.wait)
    if args.command == "targets":
        return cmd_targets(settings, args)
    command = {"scheduler": cmd_scheduler, "serve": cmd_serve, "status": cmd_status, "kpis": cmd_kpis,
               "docs": cmd_docs, "scenarios": cmd_scenarios,
               "connectors": lambda st, a: connectors_cli.run(st, a, _writer_command)}
    try:
        return command[args.command](settings, args)
    except NotPublished:  # the read commands all read the serving file the writer publishes
        print("nothing published yet: run `cockpit load` or start `cockpit scheduler`", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
