"""The 驾驶舱 wall page: five 三降两提升 tiles, OEE by plant, energy trend, output vs plan, source freshness."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from dash import dcc, html

from cockpit.serving import Serving
from cockpit.web import figures, ids
from cockpit.web.format import arrow, number, signed_pct, status_label, tone
from cockpit.web.i18n import name, t
from kpis.coverage import kpi_sources
from kpis.registry import all_kpis

OUTCOMES = [k.id for k in all_kpis().values() if k.group == "outcome"]
TONE_COLOR = {"better": figures.BETTER, "worse": figures.WORSE, "flat": figures.ACCENT, "neutral": figures.MUTED}


def layout(lang: str) -> html.Div:
    """The static frame; every value arrives through the refresh callback, which updates it in place."""
    return html.Div(className="wall", children=[
        html.Div(id=ids.TILES, className="tiles", children=[tile_placeholder(k, lang) for k in OUTCOMES]),
        html.Div(className="charts", children=[
            panel(t("oee_by_plant", lang), dcc.Graph(id=ids.OEE_CHART, config=figures.STATIC, className="chart")),
            panel(t("energy_trend", lang), dcc.Graph(id=ids.ENERGY_CHART, config=figures.STATIC, className="chart")),
            panel(t("output_vs_plan", lang), dcc.Graph(id=ids.OUTPUT_CHART, config=figures.STATIC, className="chart")),
        ]),
        html.Div(id=ids.SOURCES, className="sources"),
    ])


def panel(title: str, body) -> html.Div:
    return html.Div(className="panel", children=[html.Div(title, className="panel-title"), body])


def tile_placeholder(kpi_id: str, lang: str) -> dcc.Link:
    k = all_kpis()[kpi_id]
    return dcc.Link(id=ids.tile(kpi_id), href=f"/kpi/{kpi_id}", className="tile tile-neutral", children=[
        html.Div(name(k.__dict__, lang), className="tile-name"),
        html.Div(t("waiting", lang), className="tile-value tile-status"),
    ])


def tile_children(item: dict, months, lang: str, decimals: int, scale: float = 1.0,
                  failing: list[str] | None = None) -> tuple[list, str]:
    """Children and class of one tile; 无数据 and 错误 are words, 0 is a number.

    `failing` names the systems whose connectors feeding this KPI failed or went stale: the number is
    the last good one, and the tile says so instead of looking current.
    """
    k = all_kpis()[item["id"]]
    status = item["status"]
    mood = tone(item["improvement_pct"]) if status == "ok" else ("error" if status == "error" else "neutral")
    if status == "ok":
        value = html.Div([html.Span(number(item["report"], decimals), className="tile-number"),
                          html.Span(k.unit, className="tile-unit")], className="tile-value")
    else:
        value = html.Div(status_label(status, lang) or status, className="tile-value tile-status")
    improvement = html.Div(className="tile-improvement", children=[
        html.Span(arrow(item["change_pct"]), className="tile-arrow"),
        html.Span(signed_pct(item["improvement_pct"]), className="tile-pct"),
        html.Span(t("improvement", lang), className="tile-pct-label"),
    ])
    baseline = html.Div(className="tile-baseline", children=[
        html.Span(f"{t('baseline', lang)} "),
        html.Span(number(item["baseline"], decimals) if item["baseline"] is not None
                  else status_label(item.get("baseline_status", "no_data"), lang), className="tile-baseline-value"),
        html.Span(" ⚠ " + t("late_correction", lang), className="tile-warning") if item.get("late_correction") else None,
        html.Span(f" ⚠ {t('coverage', lang)} {item['coverage']:.0%}", className="tile-warning")
        if item.get("coverage") is not None and item["coverage"] < 0.999 else None,
        html.Span(f" ⚠ {t('source_failing', lang)} {'/'.join(failing)}", className="tile-warning tile-stale")
        if failing else None,
    ])
    target = None
    if item.get("target") is not None:
        target = html.Div(className=f"tile-target target-{item.get('target_status') or 'none'}", children=[
            html.Span(f"{t('target', lang)} {number(item['target'], decimals)}"),
            html.Span(" ●", className="target-dot") if item.get("target_status") else None,
        ], title=t("target_default", lang) if item.get("target_source") == "default" else "")
    spark = dcc.Graph(figure=figures.scaled(figures.sparkline(months, item["baseline"],
                                                              TONE_COLOR.get(mood, figures.MUTED)), scale),
                      config=figures.STATIC, className="tile-spark")
    children = [html.Div(name(item, lang), className="tile-name"), value, improvement, baseline, target, spark]
    return children, f"tile tile-{mood}"


def render(serving: Serving, lang: str, scale: float = 1.0) -> dict:
    """Everything the refresh callback writes, computed from the serving file only."""
    doc = serving.comparison("month")
    meta = serving.meta()
    unit_id = doc["unit_id"]
    kpis = all_kpis()
    tiles = {}
    since = _since(doc, months=13)
    failing = failing_streams(serving)
    for item in doc["kpis"]:
        if item["id"] in OUTCOMES:
            months = serving.series(item["id"], unit_id, "month", since)
            systems = sorted({failing[table] for table in kpi_sources(item["id"]) if table in failing})
            tiles[item["id"]] = tile_children(item, months, lang, kpis[item["id"]].decimals, scale, systems)
    return {
        "tiles": tiles,
        "oee": figures.scaled(_oee_figure(serving, lang), scale),
        "energy": figures.scaled(_daily(serving, "energy_tce", unit_id, lang), scale),
        "output": figures.scaled(_output(serving, unit_id, lang), scale),
        "sources": sources_strip(serving, lang),
        "as_of": f"{t('as_of', lang)} {meta.get('last_data_day') or '—'} · {t('published', lang)} "
                 f"{(meta.get('published_at') or '—')[:16]}",
        "period": _period_label(doc, lang),
    }


def _since(doc: dict, months: int) -> date | None:
    if not doc.get("report"):
        return None
    end = date.fromisoformat(doc["report"]["to"])
    return (end.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)


def _period_label(doc: dict, lang: str) -> str:
    if not doc.get("report"):
        return ""
    r, b = doc["report"], doc["baseline"]
    return f"{t('report', lang)} {r['from'][:7]} · {t('baseline', lang)} {b['from'][:7]} – {b['to'][:7]}"


def _oee_figure(serving: Serving, lang: str):
    plants = serving.children(serving.enterprise_id() or "")
    rows = []
    for p in plants.itertuples(index=False):
        item = serving.comparison("month", p.unit_id, ["oee"])["kpis"][0]
        rows.append({"label": name(p, lang), "value": item["report"], "baseline": item["baseline"]})
    return figures.oee_by_plant(rows, lang) if rows else figures.empty(t("no_data", lang))


def _complete_days(serving: Serving, kpi_id: str, unit_id: str, days: int):
    """Daily values of the last `days` complete production days: today's partial day would read as a drop."""
    meta = serving.meta()
    last = meta.get("last_complete_day") or meta.get("last_data_day")
    if not last:
        return None
    end = pd.Timestamp(last)
    frame = serving.series(kpi_id, unit_id, "day", (end - pd.Timedelta(days=days)).date())
    return frame[pd.to_datetime(frame["period_start"]) <= end]


def _daily(serving: Serving, kpi_id: str, unit_id: str, lang: str, days: int = 60):
    frame = _complete_days(serving, kpi_id, unit_id, days)
    return figures.daily_trend(frame) if frame is not None and len(frame) else figures.empty(t("no_data", lang))


def _output(serving: Serving, unit_id: str, lang: str, days: int = 30):
    good = _complete_days(serving, "good_output", unit_id, days)
    plan = _complete_days(serving, "planned_output", unit_id, days)
    if good is None or (good.empty and plan.empty):
        return figures.empty(t("no_data", lang))
    return figures.output_vs_plan(good, plan, (t("good_output", lang), t("planned_output", lang)))


STATE_RANK = {"failed": 0, "stale": 1, "never": 2, "ok": 3}


def failing_streams(serving: Serving) -> dict[str, str]:
    """Canonical table -> the system (upper case) of a connector feeding it that failed or went stale."""
    sources = serving.sources()
    bad = sources[sources["state"].isin(["failed", "stale"])]
    return {str(r.stream): str(r.system).upper() for r in bad.itertuples(index=False)}


def sources_strip(serving: Serving, lang: str) -> list:
    """One chip per source system with the time its data is as of; failures name the connector and since when."""
    sources = serving.sources()
    chips = []
    for system, group in sources.groupby("system", sort=False):
        worst = min(group["state"], key=lambda s: STATE_RANK.get(s, 9))
        as_of = group["data_as_of"].dropna().max()
        label = [html.Span(system.upper(), className="chip-name"),
                 html.Span("—" if as_of is None or str(as_of) == "NaT" else str(as_of)[:16], className="chip-time")]
        for s in group[group["state"].isin(["failed", "stale"])].itertuples(index=False):
            since = str(s.since)[:16] if s.since is not None and str(s.since) != "NaT" else "—"
            label.append(html.Span(f"{s.connector} {t('state_' + s.state, lang)} {t('since', lang)} {since}",
                                   className="chip-alert"))
        errors = "; ".join(e for e in group["last_error"].dropna() if e)
        chips.append(html.Div(label, className=f"chip chip-{worst}", title=errors, id=f"source-{system}"))
    return [html.Span(t("sources", lang), className="sources-title"), *chips]
