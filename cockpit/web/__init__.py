"""The Dash app: a shell with routing, and callbacks that only read the published serving file."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cockpit.config import Settings
from cockpit.serving import NotPublished, Serving
from cockpit.web import drill, ids, pages, scenarios, wall
from cockpit.web.i18n import t

SCREEN_SCALE = "screen-scale"  # viewport height / 1080: Plotly sizes are px, the page is sized in vh
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _query(search: str | None) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}


def create_app(settings: Settings, serving: Serving | None = None) -> Dash:
    serving = serving or Serving(settings.serving_path)
    app = Dash(__name__, title="未来工厂驾驶舱", assets_folder=str(ASSETS), suppress_callback_exceptions=True,
               update_title=None)
    app.layout = html.Div(className="shell", children=[
        dcc.Location(id=ids.URL, refresh="callback-nav"),
        dcc.Interval(id=ids.ROTATE, interval=60_000, disabled=True),
        dcc.Interval(id="shell-tick", interval=settings.refresh_s * 1000),
        dcc.Store(id=SCREEN_SCALE, data=1),
        html.Header(className="header", children=[
            html.Div(className="brand", children=[html.Span("未来工厂驾驶舱", id="brand-title", className="brand-title"),
                                                  html.Span(id=ids.PERIOD_LABEL, className="brand-period")]),
            html.Div(className="header-right", children=[html.Span(id=ids.AS_OF, className="as-of"),
                                                         html.Span(id=ids.CLOCK, className="clock")]),
        ]),
        html.Main(id=ids.PAGE, className="page"),
    ])

    def lang_of(search: str | None) -> str:
        lang = _query(search).get("lang", settings.language)
        return "en" if lang == "en" else "zh"

    @app.callback(Output(ids.PAGE, "children"), Output("brand-title", "children"),
                  Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def route(pathname: str | None, search: str | None):
        lang = lang_of(search)
        q = _query(search)
        path = (pathname or "/").rstrip("/") or "/"
        if path.startswith("/kpi/"):
            page = drill.layout(path.split("/")[2], q.get("unit"), q.get("period", "month"), lang, q.get("grain"))
        elif path == "/sources":
            page = _safe(lambda: pages.sources_page(serving, lang), lang)
        elif path == "/definitions":
            page = pages.definitions_page(lang)
        elif path == "/scenarios":
            page = _safe(lambda: scenarios.page(serving, lang), lang)
        else:
            page = html.Div(className="fill", children=[dcc.Interval(id=ids.TICK, interval=settings.refresh_s * 1000),
                             dcc.Store(id=ids.VERSION), wall.layout(lang)])
        return page, t("title", lang)

    tile_outputs = []
    for kpi_id in wall.OUTCOMES:
        tile_outputs += [Output(ids.tile(kpi_id), "children"), Output(ids.tile(kpi_id), "className")]

    @app.callback(*tile_outputs, Output(ids.OEE_CHART, "figure"), Output(ids.ENERGY_CHART, "figure"),
                  Output(ids.OUTPUT_CHART, "figure"), Output(ids.SOURCES, "children"), Output(ids.VERSION, "data"),
                  Input(ids.TICK, "n_intervals"), State(ids.VERSION, "data"), State(ids.URL, "search"),
                  State(SCREEN_SCALE, "data"))
    def refresh_wall(_n, seen_version, search, scale=1):
        """Re-render only when the writer published something new; Dash patches the tiles in place."""
        try:
            version = serving.version()
        except NotPublished:
            raise PreventUpdate from None
        if version == seen_version:
            raise PreventUpdate
        data = wall.render(serving, lang_of(search), scale or 1)
        out = []
        for kpi_id in wall.OUTCOMES:
            children, cls = data["tiles"].get(kpi_id, (no_update, no_update))
            out += [children, cls]
        return (*out, data["oee"], data["energy"], data["output"], data["sources"], version)

    @app.callback(Output(ids.AS_OF, "children"), Output(ids.PERIOD_LABEL, "children"),
                  Input("shell-tick", "n_intervals"), Input(ids.URL, "search"))
    def refresh_header(_n, search):
        lang = lang_of(search)
        try:
            meta = serving.meta()
            doc = serving.comparison("month")
        except NotPublished:
            return t("waiting", lang), ""
        return (f"{t('as_of', lang)} {meta.get('last_data_day') or '—'} · {t('published', lang)} "
                f"{(meta.get('published_at') or '—')[11:16]}", wall._period_label(doc, lang))

    @app.callback(Output(ids.DRILL_BODY, "children"), Output("drill-version", "data"),
                  Input(ids.DRILL_PERIOD, "value"), Input(ids.DRILL_GRAIN, "value"), Input("shell-tick", "n_intervals"),
                  State("drill-args", "data"), State(SCREEN_SCALE, "data"), State("drill-version", "data"))
    def refresh_drill(period, grain, _n, args, scale=1, seen=None):
        """Rebuild the drill page when the period changes or new data was published, not on every tick."""
        try:
            version = serving.version()
        except NotPublished:
            return drill.body(None, args["kpi"], None, period, args["lang"]), None
        key = f"{version}:{period}:{grain}"
        if key == seen:
            raise PreventUpdate
        return drill.body(serving, args["kpi"], args.get("unit"), period or "month", args["lang"], scale or 1,
                          grain or "month"), key

    @app.callback(Output(ids.ROTATE, "disabled"), Output(ids.ROTATE, "interval"), Input(ids.URL, "search"))
    def rotation(search):
        seconds = int(_query(search).get("rotate", settings.rotate_s) or 0)
        return seconds <= 0, max(seconds, 5) * 1000

    rotation_paths = ["/", *[f"/kpi/{k}" for k in wall.OUTCOMES], "/sources"]

    @app.callback(Output(ids.URL, "pathname"), Input(ids.ROTATE, "n_intervals"), State(ids.URL, "pathname"),
                  prevent_initial_call=True)
    def rotate(_n, pathname):
        """Wall screens have no mouse: cycle the cockpit, each outcome's drill-down and the sources."""
        current = rotation_paths.index(pathname) if pathname in rotation_paths else -1
        return rotation_paths[(current + 1) % len(rotation_paths)]

    app.clientside_callback(
        "function(_path) { return Math.max(1, Math.round(window.innerHeight / 1080 * 100) / 100); }",
        Output(SCREEN_SCALE, "data"), Input(ids.URL, "pathname"),
    )
    # The wall clock shows plant time, like every timestamp on the page, whatever the wall PC's zone.
    app.clientside_callback(
        "function(n) { return new Intl.DateTimeFormat('zh-CN', {timeZone: %s, hour12: false, hour: '2-digit', "
        "minute: '2-digit', second: '2-digit'}).format(new Date()); }" % json.dumps(settings.timezone),
        Output(ids.CLOCK, "children"), Input("clock-tick", "n_intervals"),
    )
    app.layout.children.append(dcc.Interval(id="clock-tick", interval=1000))
    # IT's connector admin: its own Dash app under /admin/ on this server, behind a fail-closed gate.
    from cockpit.web.admin import mount as mount_admin

    app.admin = mount_admin(app.server, settings, serving)
    return app


def _safe(build, lang: str):
    try:
        return build()
    except NotPublished:
        return html.Div(t("waiting", lang), className="tile-status")
