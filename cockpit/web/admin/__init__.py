"""IT's connector administration: a second Dash app under /admin/ on the wall's Flask server, behind the gate.

A separate app (not a page of the wall) so that all its routes, including its callback endpoint
/admin/_dash-update-component, share the /admin prefix the gate guards, and so the wall's
callbacks never carry admin actions. `mount` installs the gate before it adds a single route.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dash import Dash, dcc, html
from flask import Flask

from cockpit import admin_gate
from cockpit.config import Settings
from cockpit.serving import Serving
from cockpit.web.admin import ids
from cockpit.web.admin.callbacks import AdminCallbacks, Registered, register

ASSETS = Path(__file__).resolve().parents[3] / "assets"


@dataclass
class AdminApp:
    dash: Dash
    gate: admin_gate.AdminGate
    callbacks: Registered


def mount(server: Flask, settings: Settings, serving: Serving,
          environ: Mapping[str, str] | None = None) -> AdminApp:
    """Attach the admin app to `server` under /admin/; every /admin request first passes the gate."""
    environ = os.environ if environ is None else environ
    gate = admin_gate.install(server, settings, environ)
    app = Dash(__name__, server=server, url_base_pathname=admin_gate.PREFIX + "/", title="连接器管理 · 未来工厂驾驶舱",
               assets_folder=str(ASSETS), suppress_callback_exceptions=True, update_title=None)
    app.layout = html.Div(className="admin-shell", children=[
        dcc.Location(id=ids.URL),
        dcc.Interval(id=ids.LIST_TICK, interval=10_000),
        dcc.Interval(id=ids.POLL_TICK, interval=2_000),
        dcc.Store(id=ids.PENDING, storage_type="session", data=[]),
        dcc.Download(id=ids.DOWNLOAD),
        html.Main(id=ids.PAGE),
    ])
    callbacks = register(app, AdminCallbacks(settings, serving, environ))
    return AdminApp(app, gate, callbacks)
