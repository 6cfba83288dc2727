"""The fail-closed gate in front of everything under /admin: page, layout, assets and callback endpoints.

Until accounts exist, admin is allowed from the server itself (loopback) or with the
COCKPIT_ADMIN_TOKEN secret; anything else gets 403, so a wall screen on the LAN can never reach it.
It is a Flask before_request hook rather than a check in the page, because a Dash app's callbacks
are plain POSTs to <prefix>_dash-update-component that any client could send directly.

The token arrives as the `X-Cockpit-Admin-Token` header (scripts) or through /admin-login, which sets
an HttpOnly, SameSite=Strict cookie holding an HMAC of the token, never the token itself.
Loopback also requires a loopback Host header (a DNS-rebinding page would send its own name), and a
state-changing request must not come from another origin (a page in the admin's browser cannot
drive the admin's callbacks). Behind a reverse proxy on the same host every client looks like
loopback: set `[web] admin_from_loopback = false` there, and only the token opens the gate.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import tomllib
from collections.abc import Mapping
from html import escape
from urllib.parse import urlsplit

from flask import Flask, Response, redirect, request

from cockpit.config import Settings

log = logging.getLogger(__name__)

PREFIX = "/admin"
LOGIN_PATH = "/admin-login"
LOGOUT_PATH = "/admin-logout"
TOKEN_ENV = "COCKPIT_ADMIN_TOKEN"
TOKEN_HEADER = "X-Cockpit-Admin-Token"
COOKIE = "cockpit_admin"
MIN_TOKEN_CHARS = 16  # a short token on a LAN page is guessable; such a token is ignored (and logged)
_LOOPBACK_HOSTS = {"localhost", "localhost.localdomain", "ip6-localhost"}

DENIED = ("403 管理页面仅限本机或持有管理令牌访问。Admin is available only on the server itself "
          f"or with the admin token (header {TOKEN_HEADER}, or sign in at {LOGIN_PATH}).\n")


def is_admin_path(path: str) -> bool:
    """Everything the admin app serves; compared case-insensitively so /ADMIN/ cannot slip past."""
    p = "/" + (path or "").lstrip("/").lower()
    return p == PREFIX or p.startswith(PREFIX + "/")


def is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _host_is_loopback(host: str | None) -> bool:
    name = urlsplit(f"//{host or ''}").hostname or ""
    return name in _LOOPBACK_HOSTS or is_loopback(name)


def cookie_value(token: str) -> str:
    """What the cookie holds: stealing it does not reveal the token, and it changes when the token does."""
    return hmac.new(token.encode(), b"cockpit-admin-cookie-v1", hashlib.sha256).hexdigest()


def admin_from_loopback(settings: Settings) -> bool:
    """`[web] admin_from_loopback`, default true; read from the file when Settings does not carry it."""
    value = getattr(settings, "admin_from_loopback", None)
    if value is None:
        try:
            value = tomllib.loads(settings.path.read_text(encoding="utf-8")).get("web", {}).get(
                "admin_from_loopback", True)
        except (OSError, tomllib.TOMLDecodeError):
            value = True
    return value is not False


class AdminGate:
    """Decides per request; holds no secret itself, it reads the environment each time."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] | None = None):
        self.allow_loopback = admin_from_loopback(settings)
        self.environ = os.environ if environ is None else environ
        self._warned = False

    def token(self) -> str | None:
        token = self.environ.get(TOKEN_ENV) or None
        if token and len(token) < MIN_TOKEN_CHARS:
            if not self._warned:
                log.warning("%s is shorter than %d characters and is ignored", TOKEN_ENV, MIN_TOKEN_CHARS)
                self._warned = True
            return None
        return token

    def token_ok(self, presented: str | None) -> bool:
        token = self.token()
        return bool(token and presented) and hmac.compare_digest(presented.encode(), token.encode())

    def allowed(self) -> bool:
        if self.allow_loopback and is_loopback(request.remote_addr) and _host_is_loopback(request.host):
            return True
        token = self.token()
        if not token:
            return False
        if self.token_ok(request.headers.get(TOKEN_HEADER)):
            return True
        cookie = request.cookies.get(COOKIE)
        return bool(cookie) and hmac.compare_digest(cookie.encode(), cookie_value(token).encode())

    def cross_origin(self) -> bool:
        """A POST started by a page of another origin (CSRF), judged by the headers browsers always send."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        site = request.headers.get("Sec-Fetch-Site")
        if site and site not in ("same-origin", "none"):
            return True
        origin = request.headers.get("Origin")
        return bool(origin) and origin != "null" and urlsplit(origin).netloc != request.host

    def check(self) -> Response | None:
        """The before_request hook: None lets the request through."""
        if not is_admin_path(request.path):
            return None
        if self.cross_origin() or not self.allowed():
            log.info("admin refused for %s %s %s", request.remote_addr, request.method, request.path)
            return Response(DENIED, status=403, mimetype="text/plain")
        return None


def _login_page(message: str = "") -> str:
    note = f'<p class="admin-login-error">{escape(message)}</p>' if message else ""
    return f"""<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>连接器管理 · 登录</title>
<style>body{{margin:0;background:#070d1a;color:#e6edf7;font-family:"Noto Sans CJK SC",sans-serif}}
form{{max-width:26rem;margin:12vh auto;padding:1.5rem;background:#0f1a2e;border:1px solid #1d2c48;border-radius:8px}}
input{{width:100%;box-sizing:border-box;padding:.5rem;margin:.6rem 0;background:#070d1a;color:#e6edf7;
border:1px solid #1d2c48}}button{{padding:.5rem 1.2rem;background:#38bdf8;border:0;color:#070d1a;font-weight:600}}
.admin-login-error{{color:#ef4444}}</style></head><body>
<form method="post" action="{LOGIN_PATH}"><h2>连接器管理 Connector admin</h2>{note}
<label>管理令牌 Admin token<input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">登录 Sign in</button></form></body></html>"""


def install(server: Flask, settings: Settings, environ: Mapping[str, str] | None = None) -> AdminGate:
    """Register the gate before any admin route exists, plus /admin-login and /admin-logout."""
    gate = AdminGate(settings, environ)
    server.before_request(gate.check)

    @server.after_request
    def _admin_headers(response: Response) -> Response:
        if is_admin_path(request.path) or request.path == LOGIN_PATH:
            response.headers["Cache-Control"] = "no-store"  # config and errors must not linger in caches
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def login():
        if request.method == "GET":
            return Response(_login_page(), mimetype="text/html")
        if gate.cross_origin():
            return Response(DENIED, status=403, mimetype="text/plain")
        token = gate.token()
        if not token:
            return Response(_login_page(f"{TOKEN_ENV} 未设置: 仅本机可访问 / not set: loopback only"),
                            status=403, mimetype="text/html")
        if not gate.token_ok(request.form.get("token")):
            log.warning("admin sign-in refused for %s", request.remote_addr)
            return Response(_login_page("令牌不正确 / wrong token"), status=403, mimetype="text/html")
        response = redirect(PREFIX + "/")
        response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="Strict", path=PREFIX,
                            secure=request.is_secure)
        return response

    def logout():
        response = redirect(LOGIN_PATH)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    server.add_url_rule(LOGIN_PATH, "admin_login", login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "admin_logout", logout, methods=["GET"])
    server.add_url_rule(PREFIX, "admin_bare", lambda: redirect(PREFIX + "/"), methods=["GET"])
    return gate
