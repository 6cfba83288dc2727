"""Layout of the admin page: pure functions from plain data to Dash components (no callbacks, no I/O)."""

from __future__ import annotations

import pandas as pd
from dash import dash_table, dcc, html

from cockpit import config_edit
from cockpit.admin_gate import LOGOUT_PATH
from cockpit.web.admin import ids
from cockpit.web.admin.data import ConnectorRow, OptionView, TargetTable
from cockpit.web.admin.text import tr
from connectors.probe import PreviewReport, ProbeReport
from connectors.schema import STREAMS
from kpis.registry import all_kpis

QUARANTINE_SHOWN = 100


def table(head: list[str], rows: list[list], class_name: str = "admin-table", row_classes=None) -> html.Table:
    row_classes = row_classes or [None] * len(rows)
    return html.Table(className=class_name, children=[
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody([html.Tr([c if isinstance(c, html.Td) else html.Td(c) for c in r], className=cls)
                    for r, cls in zip(rows, row_classes)]),
    ])


def section(title: str, *children, class_name: str = "") -> html.Section:
    return html.Section(className=f"admin-section {class_name}".strip(),
                        children=[html.H2(title), *children])


def option_item(opt: OptionView, lang: str):
    if opt.secret is not None:
        state = tr("secret_set" if opt.is_set else "secret_unset", lang)
        return html.Li([html.Span(f"{opt.key}: ", className="admin-key"), html.Code(opt.secret),
                        html.Span(f": {state}", className="secret-set" if opt.is_set else "secret-unset")])
    if opt.children:
        return html.Li([html.Span(f"{opt.key}:", className="admin-key"),
                        html.Ul([option_item(c, lang) for c in opt.children], className="admin-options")])
    return html.Li([html.Span(f"{opt.key}: ", className="admin-key"), html.Span(opt.value)])


def connectors_table(rows: list[ConnectorRow], lang: str) -> html.Table:
    head = [tr(k, lang) for k in ("name", "system", "kind", "stream", "schedule", "state", "last_run", "rows",
                                  "rejects", "as_of", "options")]
    body = []
    for r in rows:
        state = html.Td([html.Span(tr(f"state_{r.state}", lang), className=f"admin-state state-{r.state}"),
                         html.Div(r.last_error, className="admin-error") if r.state == "failed" else None])
        body.append([html.Code(r.name), r.system, r.kind, r.stream, r.schedule, state, r.last_run_at or "—",
                     f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}", r.data_as_of or "—",
                     html.Ul([option_item(o, lang) for o in r.options], className="admin-options")])
    return table(head, body, row_classes=[f"row-{r.state}" for r in rows])


def probe_view(report: ProbeReport, lang: str) -> html.Div:
    verdict = tr("test_ok" if report.ok else "test_problem", lang)
    facts = [html.Li(f"{tr('reachable' if report.reachable else 'unreachable', lang)}: "
                     + (", ".join(report.sources[:5]) + (" …" if len(report.sources) > 5 else "")))]
    if report.encoding:
        facts.append(html.Li(f"{tr('encoding', lang)}: {report.encoding} "
                             f"({tr('configured', lang)}: {report.declared_encoding or 'auto'})"))
    if report.headers:
        facts.append(html.Li(f"{tr('headers_found', lang)}: {', '.join(report.headers)}"))
    rows, classes = [], []
    for field_, src in report.matched:
        rows.append([tr("matched", lang), html.Code(field_), src])
        classes.append("probe-matched")
    for field_, src, hint in report.missing:
        what = src or tr("no_source_column", lang)
        if hint:
            what = f"{what} ({tr('did_you_mean', lang)} '{hint}'?)"
        rows.append([tr("missing", lang), html.Code(field_), what])
        classes.append("probe-missing")
    for src in report.unmapped:
        rows.append([tr("unmapped", lang), "", src])
        classes.append("probe-unmapped")
    return html.Div(className=f"admin-probe {'probe-ok' if report.ok else 'probe-problem'}", children=[
        html.H3(f"{tr('test', lang)} {report.connector}: {verdict} ({report.seconds:.1f} s)"),
        html.Ul(facts),
        html.Div(report.error, className="admin-error") if report.error else None,
        table(["", tr("field", lang), tr("source_column", lang)], rows, row_classes=classes) if rows else None,
    ])


def preview_view(report: PreviewReport, lang: str) -> html.Div:
    fields = [c for c in report.columns if c != "source_line"]
    head = [tr("line", lang), tr("outcome", lang), tr("column", lang), tr("reason", lang), *fields]
    rows = [[r["source_line"], tr(f"outcome_{r['outcome']}", lang), r.get("column") or "",
             html.Td(r.get("reason") or "", className="admin-error"),
             *["" if r.get(c) is None else str(r.get(c)) for c in fields]] for r in report.rows]
    notes = [n for n in (report.master_note, report.rejected_share_note) if n]
    return html.Div(className="admin-preview", children=[
        html.H3(f"{tr('preview_title', lang, n=len(report.rows))} · {report.connector} ({report.seconds:.1f} s)"),
        *[html.Div(n, className="admin-note") for n in notes],
        html.Div(f"{tr('run_failed', lang)}: {report.error}", className="admin-error") if report.error else None,
        html.Div(className="admin-scroll", children=table(
            head, rows, row_classes=[f"outcome-{r['outcome'].replace(' ', '-')}" for r in report.rows]))
        if rows else html.Div(tr("no_rows", lang), className="admin-muted"),
    ])


def error_view(message: str) -> html.Div:
    return html.Div(message, className="admin-error")


def runs_view(frame: pd.DataFrame, lang: str) -> html.Div:
    if frame.empty:
        return html.Div(tr("no_runs", lang), className="admin-muted")
    head = ["run", tr("name", lang), tr("started", lang), tr("finished", lang), tr("status", lang),
            tr("rows_in", lang), tr("loaded", lang), tr("unchanged", lang), tr("rejects", lang), tr("error", lang)]
    rows = [[r.run_id, r.connector, str(r.started_at)[:19], str(r.finished_at)[:19],
             html.Span(r.status, className=f"admin-state state-{r.status}"), r.rows_in, r.rows_loaded,
             r.rows_unchanged, r.rows_quarantined, html.Td(r.error or "", className="admin-error")]
            for r in frame.itertuples(index=False)]
    return html.Div(className="admin-scroll", children=table(head, rows))


def quarantine_view(frame: pd.DataFrame, lang: str, total: int | None = None) -> html.Div:
    if frame.empty:
        return html.Div(tr("no_quarantine", lang), className="admin-muted")
    shown = frame.head(QUARANTINE_SHOWN)
    head = ["run", tr("name", lang), tr("file", lang), tr("line", lang), tr("column", lang), tr("reason", lang),
            tr("raw", lang), tr("at", lang)]
    rows = [[r.run_id, r.connector, html.Td(str(r.source_file), className="admin-path"), r.source_line,
             r.column_name, html.Td(r.reason, className="admin-error"),
             html.Td(html.Code(str(r.raw_record)[:160]), title=str(r.raw_record)), str(r.quarantined_at)[:19]]
            for r in shown.itertuples(index=False)]
    total = max(total or 0, len(frame))
    return html.Div([html.Div(tr("showing", lang, n=len(shown), total=f"{total:,}"), className="admin-muted"),
                     html.Div(className="admin-scroll", children=table(head, rows))])


def requests_view(items: list[dict], lang: str, writer: str | None) -> html.Div:
    """Run-now requests this browser submitted, newest first, with the writer's answer when it came."""
    if not items:
        return html.Div()
    lines = []
    for item in reversed(items):
        state = item["state"]
        text = tr(f"request_{state}", lang)
        detail = []
        for run in (item.get("answer") or {}).get("runs", []):
            detail.append(html.Li(f"{run.get('connector')}: {run.get('status')} · in={run.get('rows_in')} "
                                  f"loaded={run.get('rows_loaded')} quarantined={run.get('rows_quarantined')}"
                                  + (f" · {run['error']}" if run.get("error") else "")))
        if (item.get("answer") or {}).get("targets") is not None:
            detail.append(html.Li(tr("targets_stored", lang, n=item["answer"]["targets"])))
        if (item.get("answer") or {}).get("error"):
            detail.append(html.Li(item["answer"]["error"], className="admin-error"))
        lines.append(html.Li(className=f"request-{state}", children=[
            html.Code(item["connector"]), f" · {item['at']} · {text}", html.Ul(detail) if detail else None]))
    warn = None
    if writer is None and any(i["state"] == "pending" for i in items):
        warn = html.Div(tr("no_writer", lang), className="admin-note")
    return html.Div([warn, html.Ul(lines, className="admin-requests")])


def form_fields(lang: str, kinds: list[str]) -> list:
    """The edit form; its values are filled by a callback when a connector is chosen."""
    def labelled(label, component):
        return html.Label(className="admin-field", children=[html.Span(label), component])

    return [
        dcc.RadioItems(id=ids.FORM_MODE, value="edit", className="admin-radio", inline=True,
                       options=[{"label": tr("mode_edit", lang), "value": "edit"},
                                {"label": tr("mode_new", lang), "value": "new"}]),
        html.Div(className="admin-grid", children=[
            labelled(tr("name", lang), dcc.Input(id=ids.FORM_NAME, type="text", debounce=True)),
            labelled(tr("system", lang), dcc.Dropdown(id=ids.FORM_SYSTEM, clearable=False,
                                                      options=list(config_edit.SYSTEMS))),
            labelled(tr("kind", lang), dcc.Dropdown(id=ids.FORM_KIND, clearable=False, options=kinds)),
            labelled(tr("stream", lang), dcc.Dropdown(id=ids.FORM_STREAM, clearable=False, options=list(STREAMS))),
            labelled(tr("schedule", lang), dcc.Input(id=ids.FORM_SCHEDULE, type="text", placeholder="15m")),
            labelled(tr("form_share", lang), dcc.Input(id=ids.FORM_SHARE, type="number", min=0, max=1, step=0.01,
                                                       placeholder="0.1")),
        ]),
        html.Div(tr("secrets_help", lang), className="admin-muted"),
        labelled(tr("form_options", lang), dcc.Textarea(id=ids.FORM_OPTIONS, className="admin-textarea",
                                                        spellCheck=False)),
        html.Div(id=ids.FORM_SECRETS, className="admin-secrets"),
        labelled(tr("form_mapping", lang), dcc.Textarea(id=ids.FORM_MAPPING, className="admin-textarea",
                                                        spellCheck=False)),
        html.Div(id=ids.FORM_FIELDS, className="admin-muted"),
        labelled(tr("form_constants", lang), dcc.Textarea(id=ids.FORM_CONSTANTS, className="admin-textarea short",
                                                          spellCheck=False)),
        dcc.Store(id=ids.FORM_HASH),
        html.Button(tr("save", lang), id=ids.SAVE, className="admin-button primary"),
        html.Div(id=ids.SAVE_MSG, className="admin-save-msg"),
    ]


def secrets_view(options: list[OptionView], lang: str) -> html.Div | None:
    flat = []

    def walk(opts):
        for o in opts:
            if o.secret is not None:
                flat.append(o)
            walk(o.children)
    walk(options)
    if not flat:
        return None
    return html.Div([html.Span(tr("secrets_state", lang) + ": "),
                     html.Ul([option_item(o, lang) for o in flat], className="admin-options")])


def kpi_choices(lang: str) -> list[dict]:
    """Every registry KPI with its name, unit and direction, so IT picks the right side for the threshold."""
    out = []
    for k in all_kpis().values():
        name = k.name_en if lang == "en" else k.name_zh
        better = tr("higher_better" if k.direction == "higher" else "lower_better", lang)
        out.append({"label": f"{k.id} · {name} ({k.unit}, {better})", "value": k.id})
    return out


def targets_editor(t: TargetTable, lang: str) -> list:
    """An editable table of kpi_target rows; saving hands the whole table to the writer (callbacks.save_targets)."""
    cell = {"backgroundColor": "#0b1528", "color": "#e2e8f0", "border": "1px solid #1e2d4a",
            "fontFamily": "inherit", "fontSize": "0.9rem", "padding": "0.3rem 0.5rem", "textAlign": "left"}
    columns = [
        {"id": "kpi_id", "name": tr("kpi", lang), "presentation": "dropdown"},
        {"id": "unit_id", "name": tr("unit", lang), "presentation": "dropdown"},
        {"id": "valid_from", "name": tr("valid_from", lang) + " (YYYY-MM-DD)"},
        {"id": "target", "name": tr("target", lang), "type": "numeric"},
        {"id": "warn", "name": tr("warn", lang), "type": "numeric"},
        {"id": "note", "name": tr("note", lang)},
    ]
    return [
        html.Div(tr("targets_help", lang), className="admin-muted"),
        dash_table.DataTable(
            id=ids.TARGETS_TABLE, columns=columns, data=t.rows, editable=True, row_deletable=True,
            dropdown={"kpi_id": {"options": kpi_choices(lang), "clearable": False},
                      "unit_id": {"options": [{"label": v, "value": k} for k, v in t.units.items()],
                                  "clearable": False}},
            style_table={"overflowX": "auto"}, style_cell=cell,
            style_header={**cell, "color": "#94a3b8", "fontWeight": 600},
            style_cell_conditional=[{"if": {"column_id": "kpi_id"}, "minWidth": "22rem"},
                                    {"if": {"column_id": "unit_id"}, "minWidth": "12rem"}],
            css=[{"selector": ".Select-menu-outer", "rule": "background: #0b1528; color: #e2e8f0;"},
                 {"selector": ".Select-value-label", "rule": "color: #e2e8f0 !important;"}],
        ),
        dcc.Store(id=ids.TARGETS_HASH, data=t.fingerprint),
        html.Div(className="admin-actions", children=[
            html.Button(tr("add_row", lang), id=ids.TARGETS_ADD, className="admin-button"),
            html.Button(tr("save_targets", lang), id=ids.TARGETS_SAVE, className="admin-button primary"),
            html.Span(id=ids.TARGETS_MSG, className="admin-save-msg"),
        ]),
    ]


def page(lang: str, published: str | None, kinds: list[str], choices: list[str],
         targets: TargetTable | None = None) -> html.Div:
    other = "?lang=zh" if lang == "en" else "?lang=en"
    return html.Div(className="admin", children=[
        html.Header(className="admin-header", children=[
            html.H1(tr("title", lang)),
            html.Span(f"{tr('published', lang)} {published[:19]}" if published else tr("not_published", lang),
                      className="admin-muted"),
            html.Nav([html.A(tr("back", lang), href="/" + ("?lang=en" if lang == "en" else "")),
                      html.A(tr("other_lang", lang), href=other), html.A(tr("logout", lang), href=LOGOUT_PATH)]),
        ]),
        section(tr("connectors", lang), html.Div(id=ids.CONNECTORS)),
        html.Div(className="admin-actions", children=[
            dcc.Dropdown(id=ids.SELECT, options=choices, placeholder=tr("choose", lang), className="admin-select"),
            html.Button(tr("test", lang), id=ids.TEST, className="admin-button"),
            html.Button(tr("preview", lang), id=ids.PREVIEW, className="admin-button"),
            html.Button(tr("run_now", lang), id=ids.RUN, className="admin-button primary"),
            html.Span(id=ids.RUN_MSG, className="admin-muted"),
        ]),
        dcc.Loading(html.Div(id=ids.RESULT, className="admin-result"), type="dot", color="#38bdf8"),
        section(tr("requests", lang), html.Div(id=ids.REQUESTS)),
        section(tr("history", lang), html.Div(id=ids.HISTORY)),
        section(tr("quarantine", lang),
                html.Button(tr("download_csv", lang), id=ids.QUARANTINE_DOWNLOAD, className="admin-button"),
                html.Span(id=ids.QUARANTINE_MSG, className="admin-muted"),
                html.Div(id=ids.QUARANTINE)),
        section(tr("edit", lang), *form_fields(lang, kinds), class_name="admin-form"),
        section(tr("targets", lang), *targets_editor(targets or TargetTable([], "", {}), lang),
                class_name="admin-targets"),
    ])
