"""The data-sources page and the KPI definitions page (generated from the registry)."""

from __future__ import annotations

import pandas as pd
from dash import html

from cockpit.serving import Serving
from cockpit.web.i18n import t
from kpis.catalogue import kpi_scenarios
from kpis.registry import Kpi, all_kpis


def sources_page(serving: Serving, lang: str) -> html.Div:
    """What loaded, what failed and since when, per connector (read-only: actions are on /admin/)."""
    rows = []
    for s in serving.sources().itertuples(index=False):
        failing = s.state in ("failed", "stale")
        rows.append(html.Tr(className=f"row-{s.state}", children=[
            html.Td(s.connector), html.Td(str(s.system).upper()), html.Td(s.kind), html.Td(s.stream),
            html.Td(t(f"state_{s.state}", lang) + (f" {t('since', lang)} {_when(s.since)}" if failing else "")),
            html.Td(_when(s.last_run_at)), html.Td(f"{s.rows_loaded:,}"), html.Td(f"{s.rows_quarantined:,}"),
            html.Td(_when(s.data_as_of)), html.Td(s.last_error or "", className="error-text"),
        ]))
    head = [t(k, lang) for k in ("connector", "system", "kind", "stream", "status", "last_run", "rows", "rejects",
                                 "as_of", "error")]
    return html.Div(className="page-table", children=[
        html.H2(t("sources", lang)),
        html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)]),
    ])


def _when(value) -> str:
    """A timestamp to the second, or a dash where there is none (master data has no time: NaT)."""
    return "—" if value is None or pd.isna(value) else str(value)[:19]


def element_sum(terms: dict[str, float]) -> str:
    """Σ of elements as docs/kpis.md states them, written as arithmetic: produced_qty − good_qty."""
    out = ""
    for name, coef in terms.items():
        term = name if abs(coef) == 1 else f"{abs(coef):g} × {name}"
        sign = "−" if coef < 0 else "+"
        out += f" {sign} {term}" if out else ("− " if coef < 0 else "") + term
    return out


def element_lines(k: Kpi, lang: str) -> list[tuple[str, str]]:
    """(label, text) pairs: numerator and denominator of a ratio, the sum, the factors or the sample."""
    if k.kind == "product":
        return [(t("factors", lang), " × ".join(k.components))]
    if k.kind == "capability":
        return [(t("sample", lang), element_sum(k.denominator))]
    if k.kind == "sum":
        return [(t("sum_of", lang), element_sum(k.numerator))]
    return [(t("numerator", lang), element_sum(k.numerator)), (t("denominator", lang), element_sum(k.denominator))]


def _elements_cell(k: Kpi, lang: str) -> html.Td:
    return html.Td(className="kpi-elements", children=[
        html.Div([html.Span(label, className="element-label"), html.Code(text)]) for label, text in element_lines(k, lang)
    ])


def _scenarios_cell(k: Kpi, lang: str) -> html.Td:
    """The catalogue's entries for the KPI (see kpis.catalogue.kpi_scenarios); outcome KPIs also say so."""
    ids = kpi_scenarios(k.id, k.scenarios)
    lead = [html.Span(t("outcomes", lang), className="kpi-outcome")] if k.group == "outcome" else []
    return html.Td([*lead, *[html.Span(i + ("," if n < len(ids) - 1 else ""), className="kpi-scenario")
                             for n, i in enumerate(ids)]])


def definitions_page(lang: str) -> html.Div:
    rows = []
    for k in all_kpis().values():
        rows.append(html.Tr(children=[
            html.Td(k.id), html.Td(k.name_en if lang == "en" else k.name_zh), html.Td(k.formula),
            _elements_cell(k, lang), html.Td(k.unit),
            html.Td(t("lower_better" if k.direction == "lower" else "higher_better", lang)),
            html.Td(t(f"level_{k.lowest_level}", lang)), html.Td(k.standard), _scenarios_cell(k, lang),
        ]))
    head = [t("kpi_id", lang), t("kpi_name", lang), t("formula", lang), t("elements", lang), t("unit", lang),
            t("direction", lang), t("lowest_level", lang), t("standard", lang), t("scenarios_column", lang)]
    return html.Div(className="page-table", children=[
        html.H2(t("definitions", lang)),
        html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)], className="definitions-table"),
    ])
