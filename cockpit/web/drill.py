"""A KPI's drill-down: trend against the baseline, and the same KPI for each unit one level down."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from dash import dcc, html

from cockpit.serving import Serving
from cockpit.web import figures, ids
from cockpit.web.format import number, signed_pct, status_label, tone
from cockpit.web.i18n import name, t
from kpis.periods import PERIOD_KINDS
from kpis.reference import ANY_YEAR
from kpis.registry import all_kpis


def layout(kpi_id: str, unit_id: str | None, period: str, lang: str, grain: str | None = None) -> html.Div:
    """`grain` (from ?grain=) opens the trend at that grain, e.g. a link to a line's OEE by shift."""
    if kpi_id not in all_kpis():
        return html.Div(f"unknown KPI {kpi_id}", className="drill")
    grain = grain if grain in TREND_GRAINS else "month"
    return html.Div(className="drill", children=[
        dcc.Store(id="drill-args", data={"kpi": kpi_id, "unit": unit_id, "lang": lang}),
        dcc.Store(id="drill-version"),
        html.Div(className="drill-bar", children=[
            dcc.Link("← " + t("back", lang), href=f"/?{urlencode({'lang': lang})}", className="drill-back"),
            dcc.RadioItems(id=ids.DRILL_GRAIN, value=grain, inline=True, className="drill-periods",
                           options=[{"label": t(f"grain_{g}", lang), "value": g} for g in TREND_GRAINS]),
            dcc.RadioItems(id=ids.DRILL_PERIOD, value=period, inline=True, className="drill-periods",
                           options=[{"label": t(f"period_{p}", lang), "value": p} for p in PERIOD_KINDS]),
        ]),
        html.Div(id=ids.DRILL_BODY, children=body(None, kpi_id, unit_id, period, lang, grain=grain)),
    ])


TREND_GRAINS = ("shift", "day", "week", "month", "quarter", "year")


def body(serving: Serving | None, kpi_id: str, unit_id: str | None, period: str, lang: str,
         scale: float = 1.0, grain: str = "month") -> list:
    if serving is None:
        return [html.Div(t("waiting", lang), className="tile-status")]
    k = all_kpis()[kpi_id]
    unit_id = unit_id or serving.enterprise_id()
    org = serving.org_units()
    unit_row = org[org["unit_id"] == unit_id]
    unit_name = name(unit_row.iloc[0], lang) if len(unit_row) else unit_id
    doc = serving.comparison(period, unit_id, [kpi_id])
    item = doc["kpis"][0]
    if grain not in k.all_grains:  # monthly-only KPIs (costs, headcount) have no daily trend; orders no shifts
        grain = "day" if grain == "shift" and "day" in k.all_grains else "month"
    months = serving.series(kpi_id, unit_id, grain)
    # A total's baseline is drawn as a month's total (the baseline window's per month), on a month trend only.
    baseline = item["baseline"] if k.kind != "sum" else (item.get("baseline_per_month") if grain == "month" else None)
    path = _path(org, unit_id, kpi_id, lang)
    rows = []
    for child in serving.breakdown(kpi_id, unit_id, period):
        rows.append({**child, "label": name(child, lang)})
    headline = (number(item["report"], k.decimals) if item["status"] == "ok"
                else status_label(item["status"], lang))
    return [
        html.Div(className="drill-head", children=[
            html.Div([html.Span(name(item, lang), className="drill-title"),
                      html.Span(f" · {unit_name}", className="drill-unit")]),
            html.Div(className="drill-path", children=path),
            html.Div(className=f"drill-figures tone-{tone(item['improvement_pct'])}", children=[
                html.Span(headline, className="drill-value"), html.Span(k.unit, className="tile-unit"),
                html.Span(f"{t('baseline', lang)} {number(item['baseline'], k.decimals)}", className="drill-base"),
                html.Span(f"{t('improvement', lang)} {signed_pct(item['improvement_pct'])}", className="drill-imp"),
            ]),
        ]),
        html.Div(className="drill-charts", children=[
            html.Div(className="panel", children=[
                html.Div(t("trend_vs_baseline", lang), className="panel-title"),
                dcc.Graph(figure=figures.scaled(figures.drill_trend(months, baseline, k.unit,
                                                                    (t("report", lang), t("baseline", lang))), scale),
                          config=figures.STATIC, className="chart"),
            ]),
            html.Div(className="panel", children=[
                html.Div(t("breakdown", lang), className="panel-title"),
                dcc.Graph(figure=figures.scaled(
                              figures.breakdown(rows, k.unit, k.direction) if any(r["report"] is not None for r in rows)
                              else figures.empty(t("not_applicable", lang) if rows else t("no_data", lang)), scale),
                          config=figures.STATIC, className="chart"),
                html.Div(className="drill-children", children=[
                    _child_link(r, kpi_id, period, lang, k.decimals) for r in rows
                ]),
            ]),
        ]),
        definition(k, lang, serving.coefficients(kpi_id, date.fromisoformat(doc["report"]["from"]))
                   if doc["report"] else []),
    ]


def _child_link(row: dict, kpi_id: str, period: str, lang: str, decimals: int):
    text = number(row["report"], decimals) if row["status"] == "ok" else status_label(row["status"], lang)
    href = f"/kpi/{kpi_id}?{urlencode({'unit': row['unit_id'], 'period': period, 'lang': lang})}"
    return dcc.Link([html.Span(row["label"]), html.Span(text, className="child-value")], href=href,
                    className=f"child child-{row['status']}")


def _path(org, unit_id: str, kpi_id: str, lang: str) -> list:
    chain, current = [], unit_id
    while current:
        row = org[org["unit_id"] == current]
        if row.empty:
            break
        r = row.iloc[0]
        chain.append(dcc.Link(name(r, lang), href=f"/kpi/{kpi_id}?{urlencode({'unit': r['unit_id'], 'lang': lang})}"))
        current = r["parent_id"] if isinstance(r["parent_id"], str) and r["parent_id"] else None
    out = []
    for i, link in enumerate(reversed(chain)):
        if i:
            out.append(html.Span(" › "))
        out.append(link)
    return out


def coefficient_text(c: dict, lang: str) -> str:
    """One coefficient or factor as a plant lead reads it: medium, value per unit, which set, its source."""
    medium = t(f"medium_{c['medium']}", lang)
    if c["kind"] == "energy":
        if c["variant"] == "calorific_value":
            return f"{medium} {t('variant_calorific_value', lang)} · {c['source']}"
        which = f" {t('variant_' + c['variant'], lang)}" if c["variant"] != "default" else ""
        return f"{medium}{which} {c['value']:.6g} kgce/{c['uom']} · {c['source']}"
    if c["uom"] == "kJ":  # gas by its measured calorific value: the per-kJ figure says nothing at a glance
        return f"{medium} {t('variant_calorific_value', lang)} · {c['source']}"
    year = t("factor_year", lang).format(year=c["year"]) if c["year"] > ANY_YEAR else ""
    return (f"{medium} {t('scope', lang)}{c['scope']} {c['value']:.6g} kgCO2/{c['uom']}"
            + (f" ({year})" if year else "") + f" · {c['source']}")


def definition(k, lang: str, coefficients: list[dict] | None = None) -> html.Div:
    direction = t("lower_better" if k.direction == "lower" else "higher_better", lang)
    stated = [html.Dt(t("coefficients", lang)),
              html.Dd(html.Ul([html.Li(coefficient_text(c, lang)) for c in coefficients],
                              className="definition-coefficients"))] if coefficients else []
    return html.Div(className="definition", children=[
        html.Div(t("definition", lang), className="panel-title"),
        html.Dl([
            html.Dt(t("formula", lang)), html.Dd(k.formula),
            html.Dt(t("unit", lang)), html.Dd(f"{k.unit} · {direction}"),
            html.Dt(t("lowest_level", lang)), html.Dd(t(f"level_{k.lowest_level}", lang)),
            html.Dt(t("standard", lang)), html.Dd(k.standard),
            *stated,
        ]),
        html.P(k.description, className="definition-text"),
    ])
