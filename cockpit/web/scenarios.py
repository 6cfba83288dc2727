"""The scenario page: both seeds' 84 scenarios with their indicators and what each still needs."""

from __future__ import annotations

from dash import html

from cockpit.serving import Serving, scenario_report
from cockpit.web.i18n import name

STATUS = {
    "computed": ("已计算", "computed"), "partial": ("部分", "partial"), "needs": ("缺数据", "needs data"),
    "user_defined": ("自定义", "user-defined"), "no_data": ("无数据", "no data"),
}


def _label(status: str, lang: str) -> str:
    zh, en = STATUS.get(status, (status, status))
    return en if lang == "en" else zh


def page(serving: Serving, lang: str) -> html.Div:
    doc = scenario_report(serving)
    summary = doc["summary"]
    head = html.Div(className="scenario-summary", children=[
        html.Span(f"{summary['entries']} " + ("scenarios" if lang == "en" else "个场景")),
        *[html.Span(f"{_label(s, lang)} {summary[s]}", className=f"badge badge-{s}")
          for s in ("computed", "partial", "needs")],
        html.Span(" · ".join(f"{f['system']} {'✓' if f['connected'] else '✗'}" for f in doc["foundation"]),
                  className="foundation"),
    ])
    levels = html.Div(className="scenario-levels", children=[
        html.Div(className="panel", children=[
            html.Div(name(lvl, lang), className="panel-title"),
            html.Div(f"{lvl['computed']} / {lvl['scenarios']}", className="level-number"),
            html.Div(f"{_label('partial', lang)} {lvl['partial']}", className="level-partial"),
        ]) for lvl in doc["levels"]
    ])
    rows = []
    for e in doc["scenarios"]:
        inds = [html.Div([html.Span(name(i, lang)), html.Span(_label(i["status"], lang), className=f"badge badge-{i['status']}"),
                          html.Span("; ".join(i["needs"]), className="needs") if i["needs"] else None])
                for i in e["indicators"]]
        rows.append(html.Tr(className=f"row-{e['status']}", children=[
            html.Td(e["id"]), html.Td(name(e, lang)),
            html.Td(e["category_en"] if lang == "en" else e["category_zh"]),
            html.Td(_label(e["status"], lang), className=f"badge-cell badge-{e['status']}"), html.Td(inds),
        ]))
    return html.Div(className="page-table", children=[
        head, levels,
        html.Table([html.Thead(html.Tr([html.Th(h) for h in ("id", "场景" if lang != "en" else "scenario",
                                                            "类别" if lang != "en" else "category",
                                                            "状态" if lang != "en" else "status",
                                                            "指标" if lang != "en" else "indicators")])),
                    html.Tbody(rows)]),
    ])
