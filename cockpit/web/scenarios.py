"""The scenario page: both seeds' 84 scenarios with their indicators and what each still needs."""

from __future__ import annotations

from dash import html

from cockpit.serving import Serving, scenario_report
from cockpit.web.i18n import name, t


def _label(status: str, lang: str) -> str:
    return t(f"cov_{status}", lang)


def _badge(status: str, lang: str) -> html.Span:
    return html.Span(_label(status, lang), className=f"badge badge-{status}")


def _scenario_chip(entry: dict, lang: str) -> html.Span:
    """One scenario of the 3-level path: its name and headline indicator, coloured by coverage."""
    head = entry["headline"]
    return html.Span(className=f"level-chip level-chip-{entry['status']}",
                     title=f"{entry['id']} · {_label(entry['status'], lang)}",
                     children=[html.Span(name(entry, lang)),
                               html.Span(f"· {name(head, lang)}", className="level-chip-headline") if head else None])


def _level_panel(lvl: dict, first: bool, lang: str) -> html.Div:
    covered = [e for e in lvl["added"] if e["status"] == "computed"]
    rest = [e for e in lvl["added"] if e["status"] != "computed"]
    links = " · ".join(name(link, lang) for link in lvl["links"])
    return html.Div(className="panel level-panel", children=[
        html.Div(name(lvl, lang), className="panel-title"),
        html.Div([html.Span(f"{lvl['computed']} / {lvl['scenarios']}", className="level-number"),
                  html.Span(t("measured_of", lang), className="level-caption"),
                  html.Span(f"{_label('partial', lang)} {lvl['partial']}", className="level-partial")]),
        html.Div(className="level-links", children=[
            f"{t('level_adds', lang)}{links}", None if first else t("level_includes", lang)]),
        html.Div(className="level-group", children=[
            html.Span(f"{t('covered', lang)} {len(covered)}", className="level-group-title badge-computed"),
            *[_scenario_chip(e, lang) for e in covered]]),
        html.Div(className="level-group", children=[
            html.Span(f"{t('not_covered', lang)} {len(rest)}", className="level-group-title badge-needs"),
            *[_scenario_chip(e, lang) for e in rest]]),
    ])


def _indicator(ind: dict, headline: bool, lang: str) -> html.Div:
    note = "; ".join(ind["needs"]) if ind["needs"] else (t("planned_note", lang) if ind["status"] == "planned" else "")
    return html.Div(className="indicator indicator-headline" if headline else "indicator", children=[
        html.Span(name(ind, lang), title=t("headline", lang) if headline else None), _badge(ind["status"], lang),
        html.Span(note, className="needs") if note else None])


def page(serving: Serving, lang: str) -> html.Div:
    doc = scenario_report(serving)
    summary = doc["summary"]
    head = html.Div(className="scenario-summary", children=[
        html.Span(f"{summary['entries']} {t('scenario_count', lang)}"),
        *[html.Span(f"{_label(s, lang)} {summary[s]}", className=f"badge badge-{s}")
          for s in ("computed", "partial", "planned", "needs")],
        html.Span(" · ".join(f"{f['system']} {'✓' if f['connected'] else '✗'}" for f in doc["foundation"]),
                  className="foundation"),
    ])
    levels = html.Div(className="scenario-levels", children=[
        _level_panel(lvl, i == 0, lang) for i, lvl in enumerate(doc["levels"])])
    rows = []
    for e in doc["scenarios"]:
        inds = [_indicator(i, i["id"] == e["headline"], lang) for i in e["indicators"]]
        rows.append(html.Tr(className=f"row-{e['status']}", children=[
            html.Td(e["id"]), html.Td(name(e, lang)),
            html.Td(e["category_en"] if lang == "en" else e["category_zh"]),
            html.Td(_label(e["status"], lang), className=f"badge-cell badge-{e['status']}"), html.Td(inds),
        ]))
    columns = (t("kpi_id", lang), t("scenario", lang), t("category", lang), t("status", lang), t("indicators", lang))
    return html.Div(className="page-table", children=[
        head, levels,
        html.Table([html.Thead(html.Tr([html.Th(h) for h in columns])), html.Tbody(rows)]),
    ])
