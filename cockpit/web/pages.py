"""The data-sources page and the KPI definitions page (generated from the registry)."""

from __future__ import annotations

from dash import html

from cockpit.serving import Serving
from cockpit.web.i18n import t
from kpis.registry import all_kpis


def sources_page(serving: Serving, lang: str) -> html.Div:
    rows = []
    for s in serving.sources().itertuples(index=False):
        rows.append(html.Tr(className=f"row-{s.state}", children=[
            html.Td(s.connector), html.Td(s.system), html.Td(s.kind), html.Td(s.stream),
            html.Td(t(f"state_{s.state}", lang)), html.Td(str(s.last_run_at)[:19]),
            html.Td(f"{s.rows_loaded:,}"), html.Td(f"{s.rows_quarantined:,}"), html.Td(str(s.data_as_of)[:19]),
            html.Td(s.last_error or "", className="error-text"),
        ]))
    head = [t("connector", lang), "system", "kind", "stream", "", t("last_run", lang), t("rows", lang),
            t("rejects", lang), t("as_of", lang), ""]
    return html.Div(className="page-table", children=[
        html.H2(t("sources", lang)),
        html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)]),
    ])


def definitions_page(lang: str) -> html.Div:
    rows = []
    for k in all_kpis().values():
        rows.append(html.Tr([
            html.Td(k.id), html.Td(k.name_en if lang == "en" else k.name_zh), html.Td(k.formula), html.Td(k.unit),
            html.Td(t("lower_better" if k.direction == "lower" else "higher_better", lang)),
            html.Td(t(f"level_{k.lowest_level}", lang)), html.Td(k.standard), html.Td(", ".join(k.scenarios)),
        ]))
    head = [t("kpi_id", lang), t("kpi_name", lang), t("formula", lang), t("unit", lang), t("direction", lang),
            t("lowest_level", lang), t("standard", lang), t("scenarios_column", lang)]
    return html.Div(className="page-table", children=[
        html.H2(t("definitions", lang)),
        html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)]),
    ])
