"""The admin page's callbacks: each a few lines over data.py, connectors.probe and cockpit.config_edit.

They are plain methods, so tests call them directly. Every text that could carry a connector's
error passes through `scrub`, which replaces any secret the config references with ***.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cockpit import config as config_mod
from cockpit import config_edit
from cockpit import requests as req
from cockpit.config import Settings, plant_now
from cockpit.serving import Serving
from cockpit.store import describe_holder, holder
from cockpit.web.admin import data, ids, views
from cockpit.web.admin.text import tr
from connectors import probe
from connectors.schema import STREAMS


def lang_of(search: str | None, default: str = "zh") -> str:
    q = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    return "en" if q.get("lang", default) == "en" else "zh"


class AdminCallbacks:
    """State shared by the callbacks: settings (for paths), the serving file and the environment."""

    def __init__(self, settings: Settings, serving: Serving, environ: Mapping[str, str]):
        self.settings = settings
        self.serving = serving
        self.environ = environ

    def scrub(self, text: str) -> str:
        try:
            secrets = config_edit.secret_values(config_edit.read_raw(self.settings.path), self.environ)
        except config_edit.ConfigEditError:
            secrets = [self.environ.get("COCKPIT_ADMIN_TOKEN") or ""]
        return config_edit.redact(str(text), secrets)

    def lang(self, search: str | None) -> str:
        return lang_of(search, self.settings.language)

    # --- page and lists ---

    def render(self, _pathname: str | None, search: str | None):
        from connectors import registry

        lang = self.lang(search)
        rows = self._rows()
        try:
            kinds = sorted(registry.kinds())
        except Exception:  # noqa: BLE001 - a broken kind module must not take the whole admin page down
            kinds = sorted({r.kind for r in rows})
        return views.page(lang, data.published_at(self.serving), kinds, [r.name for r in rows],
                          data.target_table(self.serving, lang))

    def _rows(self) -> list[data.ConnectorRow]:
        try:
            return data.connector_rows(self.settings, self.serving, self.environ)
        except config_edit.ConfigEditError:
            return []  # a hand-edited file that does not parse: connectors() says so

    def connectors(self, _n, search: str | None):
        lang = self.lang(search)
        try:
            rows = data.connector_rows(self.settings, self.serving, self.environ)
        except config_edit.ConfigEditError as exc:
            return views.error_view(self.scrub(exc)), []
        for r in rows:
            r.last_error = self.scrub(r.last_error) if r.last_error else None
        return views.connectors_table(rows, lang), [r.name for r in rows]

    def details(self, name: str | None, _n, search: str | None):
        """Run history and quarantine of the chosen connector (of all, when none is chosen)."""
        lang = self.lang(search)
        runs = data.runs(self.serving, name)
        if not runs.empty and "error" in runs:
            runs["error"] = runs["error"].map(lambda e: self.scrub(e) if isinstance(e, str) else e)
        return views.runs_view(runs, lang), views.quarantine_view(data.quarantine(self.serving, name), lang,
                                                                  data.quarantine_total(self.serving, name))

    # --- test, preview, run now ---

    def _spec(self, name: str):
        return data.load_spec(self.settings, self.serving, name, self.environ)

    def test(self, n_clicks, name: str | None, search: str | None):
        if not n_clicks:
            raise PreventUpdate
        lang = self.lang(search)
        if not name:
            return views.error_view(tr("choose_first", lang))
        try:
            report = probe.probe(self._spec(name), plant_now(self.settings))
        except config_mod.ConfigError as exc:
            return views.error_view(self.scrub(exc))
        report.error = self.scrub(report.error) if report.error else None
        return views.probe_view(report, lang)

    def preview(self, n_clicks, name: str | None, search: str | None):
        if not n_clicks:
            raise PreventUpdate
        lang = self.lang(search)
        if not name:
            return views.error_view(tr("choose_first", lang))
        try:
            spec = self._spec(name)
        except config_mod.ConfigError as exc:
            return views.error_view(self.scrub(exc))
        report = probe.preview(spec, data.master_frames(self.serving), plant_now(self.settings))
        report.error = self.scrub(report.error) if report.error else None
        for row in report.rows:
            row.update({k: self.scrub(v) for k, v in row.items() if isinstance(v, str)})
        return views.preview_view(report, lang)

    def run_now(self, n_clicks, name: str | None, pending: list | None, search: str | None):
        """Hand the run to the writer as a request: the web never opens the store."""
        if not n_clicks:
            raise PreventUpdate
        lang = self.lang(search)
        if not name:
            return no_update, tr("choose_first", lang)
        rid = req.submit(self.settings.requests_dir, "load", connectors=[name])
        item = {"rid": rid, "connector": name, "at": data.submitted(plant_now(self.settings))}
        return [*(pending or []), item][-20:], f"{tr('submitted', lang)}: {name} ({rid})"

    def poll(self, _n, pending: list | None, search: str | None):
        if not pending:
            raise PreventUpdate
        items = []
        for item in pending:
            status = data.request_status(self.settings.requests_dir, item["rid"])
            answer = status.get("answer")
            if answer is not None:
                answer = _scrub_tree(answer, self.scrub)
            items.append({**item, "state": status["state"], "answer": answer})
        info = holder(self.settings)
        writer = describe_holder(info) if info else None
        return views.requests_view(items, self.lang(search), writer)

    EXPORT_WAIT_S = 30

    def download(self, n_clicks, name: str | None, search: str | None = None):
        """The whole quarantine, exported by the writer; the newest published rows when it cannot answer in time."""
        if not n_clicks:
            raise PreventUpdate
        lang = self.lang(search)
        answer, writer = None, holder(self.settings)
        if writer is not None:  # without a writer a request would only wait for the next one
            rid = req.submit(self.settings.requests_dir, "quarantine_export", connector=name)
            answer = req.wait(self.settings.requests_dir, rid, self.EXPORT_WAIT_S)
        if answer and answer.get("ok"):
            path = Path(answer["path"])
            return (dcc.send_file(str(path), filename=f"quarantine-{name or 'all'}.csv", type="text/csv;charset=utf-8"),
                    tr("export_done", lang, n=f"{answer['rows']:,}", path=path.name))
        why = self.scrub(answer["error"]) if answer else tr("no_writer" if writer is None else "request_pending", lang)
        frame = data.quarantine(self.serving, name)
        # UTF-8 with BOM: Excel on Chinese Windows otherwise opens the file as GBK and garbles it.
        return ({"content": "\ufeff" + frame.to_csv(index=False), "filename": f"quarantine-{name or 'all'}-newest.csv",
                 "type": "text/csv;charset=utf-8"},
                tr("export_fallback", lang, s=self.EXPORT_WAIT_S, why=why, n=len(frame)))

    # --- targets ---

    def add_target_row(self, n_clicks, rows: list | None):
        if not n_clicks:
            raise PreventUpdate
        today = plant_now(self.settings).date()
        return [*(rows or []), {"kpi_id": None, "unit_id": None, "valid_from": today.replace(day=1).isoformat(),
                                "target": None, "warn": None, "note": ""}]

    def save_targets(self, n_clicks, rows: list | None, expected: str | None, pending: list | None,
                     search: str | None):
        """Check the table here (the same rules the writer applies), then hand it to the writer to replace."""
        from kpis import targets
        from kpis.registry import all_kpis

        if not n_clicks:
            raise PreventUpdate
        lang = self.lang(search)
        rows = [r for r in (rows or []) if any(v not in (None, "") for v in r.values())]  # blank rows left unused
        units = set(data.unit_choices(self.serving, lang))
        try:
            clean = targets.clean_rows(rows, all_kpis(), units)
        except ValueError as exc:
            return no_update, no_update, html.Div(tr("save_refused", lang) + str(exc), className="admin-error")
        plain = [{**dict(zip(targets.COLUMNS, r)), "valid_from": r[2].isoformat()} for r in clean]
        rid = req.submit(self.settings.requests_dir, "targets", rows=plain, replace=True, expected=expected)
        item = {"rid": rid, "connector": "kpi_target", "at": data.submitted(plant_now(self.settings))}
        # The writer stores exactly these rows, so their fingerprint is the one the next save starts from.
        return ([*(pending or []), item][-20:], targets.fingerprint(clean),
                html.Div(tr("targets_submitted", lang, n=len(clean)), className="admin-ok"))

    # --- the edit form ---

    def fill_form(self, mode: str | None, name: str | None, search: str | None):
        """Values for the form: the chosen connector as written in the file, or a blank new one."""
        lang = self.lang(search)
        if mode == "new":
            form = config_edit.ConnectorForm(name="", system="mes", kind="csv", stream="production_record",
                                             options_text='path = "exports/*.csv"\nencoding = "auto"\n')
            secrets = None
        elif not name:
            form = config_edit.ConnectorForm(name="", system="", kind="", stream="", schedule="")
            secrets = None
        else:
            try:
                form = config_edit.connector_form(self.settings.path, name)
            except config_edit.ConfigEditError as exc:
                return (*([no_update] * 10), views.error_view(self.scrub(exc)), no_update)
            raw = config_edit.read_raw(self.settings.path)["connectors"][name]
            secrets = views.secrets_view(data.option_views(raw, self.environ), lang)
        return (form.name, form.system or None, form.kind or None, form.stream or None, form.schedule,
                form.max_reject_share,
                form.options_text, form.mapping_text, form.constants_text,
                config_edit.file_hash(self.settings.path), secrets, mode != "new")  # a name is fixed once saved

    def stream_fields(self, stream: str | None, search: str | None):
        if stream not in STREAMS:
            return ""
        cols = ", ".join(c.name + ("" if c.required else "?") for c in STREAMS[stream].columns)
        return tr("fields_of", self.lang(search), stream=stream) + cols

    def save(self, n_clicks, mode, name, system, kind, stream, schedule, share, options, mapping, constants,
             base_hash, search):
        if not n_clicks:
            raise PreventUpdate
        lang = self.lang(search)
        form = config_edit.ConnectorForm(
            name=(name or "").strip(), system=system or "", kind=kind or "", stream=stream or "",
            schedule=schedule or "15m", max_reject_share=None if share in (None, "") else float(share),
            options_text=options or "", mapping_text=mapping or "", constants_text=constants or "")
        try:
            result = config_edit.save_connector(self.settings.path, form, create=mode == "new",
                                                environ=self.environ, expected_hash=base_hash)
        except config_edit.ConfigEditError as exc:
            return html.Div(tr("save_refused", lang) + self.scrub(exc), className="admin-error"), no_update
        backup = result.backup.name if result.backup else "—"
        return (html.Div(tr("saved", lang) + backup, className="admin-ok"),
                config_edit.file_hash(self.settings.path))


def _scrub_tree(value, scrub):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_tree(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_tree(v, scrub) for v in value]
    return value


@dataclasses.dataclass
class Registered:
    """The callbacks as Dash registered them; still plain functions."""

    handlers: AdminCallbacks
    render: object
    connectors: object
    details: object
    test: object
    preview: object
    run_now: object
    poll: object
    download: object
    fill_form: object
    stream_fields: object
    save: object
    add_target_row: object
    save_targets: object


def register(app: Dash, h: AdminCallbacks) -> Registered:
    cb = app.callback
    search = State(ids.URL, "search")
    render = cb(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), Input(ids.URL, "search"))(h.render)
    connectors = cb(Output(ids.CONNECTORS, "children"), Output(ids.SELECT, "options"),
                    Input(ids.LIST_TICK, "n_intervals"), search)(h.connectors)
    details = cb(Output(ids.HISTORY, "children"), Output(ids.QUARANTINE, "children"),
                 Input(ids.SELECT, "value"), Input(ids.LIST_TICK, "n_intervals"), search)(h.details)
    test = cb(Output(ids.RESULT, "children", allow_duplicate=True), Input(ids.TEST, "n_clicks"),
              State(ids.SELECT, "value"), search, prevent_initial_call=True)(h.test)
    preview = cb(Output(ids.RESULT, "children", allow_duplicate=True), Input(ids.PREVIEW, "n_clicks"),
                 State(ids.SELECT, "value"), search, prevent_initial_call=True)(h.preview)
    run_now = cb(Output(ids.PENDING, "data"), Output(ids.RUN_MSG, "children"), Input(ids.RUN, "n_clicks"),
                 State(ids.SELECT, "value"), State(ids.PENDING, "data"), search,
                 prevent_initial_call=True)(h.run_now)
    poll = cb(Output(ids.REQUESTS, "children"), Input(ids.POLL_TICK, "n_intervals"), Input(ids.PENDING, "data"),
              search)(h.poll)
    download = cb(Output(ids.DOWNLOAD, "data"), Output(ids.QUARANTINE_MSG, "children"),
                  Input(ids.QUARANTINE_DOWNLOAD, "n_clicks"), State(ids.SELECT, "value"), search,
                  prevent_initial_call=True)(h.download)
    form_outputs = [Output(i, "value") for i in (ids.FORM_NAME, ids.FORM_SYSTEM, ids.FORM_KIND, ids.FORM_STREAM,
                                                 ids.FORM_SCHEDULE, ids.FORM_SHARE, ids.FORM_OPTIONS,
                                                 ids.FORM_MAPPING, ids.FORM_CONSTANTS)]
    fill_form = cb(*form_outputs, Output(ids.FORM_HASH, "data"), Output(ids.FORM_SECRETS, "children"),
                   Output(ids.FORM_NAME, "disabled"),
                   Input(ids.FORM_MODE, "value"), Input(ids.SELECT, "value"), search)(h.fill_form)
    stream_fields = cb(Output(ids.FORM_FIELDS, "children"), Input(ids.FORM_STREAM, "value"), search)(h.stream_fields)
    save = cb(Output(ids.SAVE_MSG, "children"), Output(ids.FORM_HASH, "data", allow_duplicate=True),
              Input(ids.SAVE, "n_clicks"),
              *[State(i, "value") for i in (ids.FORM_MODE, ids.FORM_NAME, ids.FORM_SYSTEM, ids.FORM_KIND,
                                            ids.FORM_STREAM, ids.FORM_SCHEDULE, ids.FORM_SHARE, ids.FORM_OPTIONS,
                                            ids.FORM_MAPPING, ids.FORM_CONSTANTS)],
              State(ids.FORM_HASH, "data"), search, prevent_initial_call=True)(h.save)
    add_target_row = cb(Output(ids.TARGETS_TABLE, "data"), Input(ids.TARGETS_ADD, "n_clicks"),
                        State(ids.TARGETS_TABLE, "data"), prevent_initial_call=True)(h.add_target_row)
    save_targets = cb(Output(ids.PENDING, "data", allow_duplicate=True), Output(ids.TARGETS_HASH, "data"),
                      Output(ids.TARGETS_MSG, "children"), Input(ids.TARGETS_SAVE, "n_clicks"),
                      State(ids.TARGETS_TABLE, "data"), State(ids.TARGETS_HASH, "data"), State(ids.PENDING, "data"),
                      search, prevent_initial_call=True)(h.save_targets)
    return Registered(h, render, connectors, details, test, preview, run_now, poll, download, fill_form,
                      stream_fields, save, add_target_row, save_targets)
