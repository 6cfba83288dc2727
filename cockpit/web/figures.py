"""Plotly figures for the wall and drill-down: dark, large type, no toolbars, built from plain frames."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
TEXT = "#e6edf7"
MUTED = "#8b9bb4"
GRID = "rgba(139,155,180,0.18)"
ACCENT = "#38bdf8"
PLAN = "#a78bfa"
BETTER = "#22c55e"
WORSE = "#ef4444"
STATIC = {"displayModeBar": False, "staticPlot": True, "responsive": True}


_FONT_KEYS = {"font", "tickfont", "textfont", "insidetextfont", "outsidetextfont"}


def scaled(fig: go.Figure, scale: float | None) -> go.Figure:
    """The figure for a screen `scale` times as high as 1080 px: Plotly sizes are px, the page is sized in vh."""
    if not scale or abs(scale - 1) < 0.01:
        return fig

    def walk(node, parent=None):
        if isinstance(node, list):
            return [walk(v, parent) for v in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for k, v in node.items():
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            if number and ((k == "size" and (parent in _FONT_KEYS or parent == "marker"))
                           or (k == "width" and parent == "line") or (parent == "margin" and k in ("l", "r", "t", "b"))):
                out[k] = v * scale
            else:
                out[k] = walk(v, k)
        return out

    return go.Figure(walk(fig.to_plotly_json()))


def _base(font_px: float = 15) -> go.Layout:
    return go.Layout(
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "color": TEXT, "size": font_px},
        margin={"l": 8, "r": 8, "t": 8, "b": 8}, showlegend=False,
        xaxis={"gridcolor": GRID, "zeroline": False, "color": MUTED},
        yaxis={"gridcolor": GRID, "zeroline": False, "color": MUTED},
    )


def empty(message: str) -> go.Figure:
    fig = go.Figure(layout=_base())
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=message, showarrow=False, font={"size": 22, "color": MUTED}, x=0.5, y=0.5,
                       xref="paper", yref="paper")
    return fig


def sparkline(months: pd.DataFrame, baseline: float | None, tone_color: str) -> go.Figure:
    """Monthly values as a thin line, the frozen baseline dashed: shape, not numbers, from across a room."""
    fig = go.Figure(layout=_base(10))
    fig.update_layout(margin={"l": 0, "r": 0, "t": 2, "b": 2})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    ok = months[months["status"] == "ok"]
    fig.add_trace(go.Scatter(x=ok["period_start"], y=ok["value"], mode="lines",
                             line={"color": tone_color, "width": 3, "shape": "spline"}))
    if baseline is not None and len(ok):
        fig.add_trace(go.Scatter(x=[ok["period_start"].min(), ok["period_start"].max()], y=[baseline, baseline],
                                 mode="lines", line={"color": MUTED, "width": 1.5, "dash": "dot"}))
    return fig


def oee_by_plant(rows: list[dict], lang: str) -> go.Figure:
    fig = go.Figure(layout=_base(18))
    names = [r["label"] for r in rows]
    values = [r["value"] for r in rows]
    fig.add_trace(go.Bar(x=values, y=names, orientation="h", marker={"color": ACCENT},
                         text=[("—" if v is None else f"{v:.1f}%") for v in values], textposition="outside",
                         textfont={"size": 22, "color": TEXT}, cliponaxis=False))
    base = [r.get("baseline") for r in rows]
    if any(b is not None for b in base):
        fig.add_trace(go.Scatter(x=base, y=names, mode="markers",
                                 marker={"symbol": "line-ns", "size": 34, "line": {"width": 3, "color": MUTED}}))
    fig.update_xaxes(range=[0, 100], ticksuffix="%", showgrid=True)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 18})
    fig.update_layout(margin={"l": 8, "r": 60, "t": 8, "b": 8}, bargap=0.35)
    return fig


def daily_trend(days: pd.DataFrame, color: str = ACCENT) -> go.Figure:
    fig = go.Figure(layout=_base(15))
    ok = days[days["status"] == "ok"]
    fig.add_trace(go.Scatter(x=ok["period_start"], y=ok["value"], mode="lines", fill="tozeroy",
                             line={"color": color, "width": 2.5}, fillcolor="rgba(56,189,248,0.15)"))
    fig.update_layout(margin={"l": 48, "r": 8, "t": 8, "b": 28})
    return fig


def output_vs_plan(good: pd.DataFrame, plan: pd.DataFrame, labels: tuple[str, str]) -> go.Figure:
    fig = go.Figure(layout=_base(15))
    fig.add_trace(go.Bar(x=good["period_start"], y=good["value"], name=labels[0], marker={"color": ACCENT}))
    fig.add_trace(go.Scatter(x=plan["period_start"], y=plan["value"], name=labels[1], mode="lines+markers",
                             line={"color": PLAN, "width": 2.5}))
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": 1.12, "x": 0, "font": {"size": 15}},
                      margin={"l": 56, "r": 8, "t": 28, "b": 28}, bargap=0.25)
    return fig


SHIFT_COLORS = (ACCENT, PLAN, "#f59e0b", "#2dd4bf", "#f472b6", "#a3e635")


def drill_trend(months: pd.DataFrame, baseline: float | None, unit: str, labels: tuple[str, str]) -> go.Figure:
    fig = go.Figure(layout=_base(16))
    ok = months[months["status"] == "ok"]
    if "shift_code" in ok:
        # by shift: one line per shift across the days, so a weak shift stands out as a line of its own
        for i, (code, rows) in enumerate(ok.groupby("shift_code", sort=False)):
            fig.add_trace(go.Scatter(x=rows["day"], y=rows["value"], mode="lines+markers", name=str(code),
                                     line={"color": SHIFT_COLORS[i % len(SHIFT_COLORS)], "width": 2},
                                     marker={"size": 6}))
        fig.update_layout(showlegend=True, legend={"orientation": "h", "x": 0, "y": 1.1, "font": {"size": 16}})
    else:
        fig.add_trace(go.Scatter(x=ok["period_start"], y=ok["value"], mode="lines+markers", name=labels[0],
                                 line={"color": ACCENT, "width": 3}, marker={"size": 8}))
    if baseline is not None and len(ok):
        fig.add_hline(y=baseline, line={"color": MUTED, "dash": "dash", "width": 2},
                      annotation_text=f"{labels[1]} {baseline:,.3g}", annotation_font={"color": MUTED, "size": 16})
    fig.update_yaxes(title={"text": unit})
    fig.update_layout(margin={"l": 64, "r": 16, "t": 16, "b": 40})
    return fig


def breakdown(rows: list[dict], unit: str, direction: str) -> go.Figure:
    fig = go.Figure(layout=_base(16))
    ok = [r for r in rows if r["report"] is not None]
    colors = [BETTER if (r.get("improvement_pct") or 0) > 0 else WORSE if (r.get("improvement_pct") or 0) < 0
              else ACCENT for r in ok]
    fig.add_trace(go.Bar(x=[r["label"] for r in ok], y=[r["report"] for r in ok], marker={"color": colors},
                         text=[f"{r['report']:,.3g}" for r in ok], textposition="outside", cliponaxis=False))
    base = [r["baseline"] for r in ok]
    fig.add_trace(go.Scatter(x=[r["label"] for r in ok], y=base, mode="markers",
                             marker={"symbol": "line-ew", "size": 40, "line": {"width": 3, "color": MUTED}}))
    fig.update_yaxes(title={"text": unit})
    fig.update_layout(margin={"l": 64, "r": 16, "t": 30, "b": 40})
    return fig
