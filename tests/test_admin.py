"""The connector admin: fail-closed gate on every /admin route, secrets never shown, callbacks as functions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cockpit import config
from cockpit import requests as req
from cockpit.admin_gate import COOKIE, TOKEN_ENV, TOKEN_HEADER, cookie_value
from cockpit.config import plant_now
from cockpit.web import create_app
from cockpit.web.admin import data as admin_data
from cockpit.writer import Writer
from tests.conftest import GOLDEN, NOW

SECRET = "mes-secret-7c1d9e0a5b"
TOKEN = "admin-token-0123456789abcdef"
LAN = "192.168.1.50"
EXTRA = """
[connectors.mes_api]
system = "mes"
kind = "rest"
stream = "labor_time"
url = "http://127.0.0.1:9/labor"  # nothing listens there: connection refused
token = { env = "MES_TOKEN" }
retries = 0
schedule = "1h"

[connectors.extra_headcount]
system = "erp"
kind = "csv"
stream = "headcount"
path = "extra_headcount.csv"
max_reject_share = 0.9
"""


@pytest.fixture(scope="module")
def plant(tmp_path_factory) -> Path:
    """The golden plant plus a connector naming a secret and one with a rejected row, loaded and published."""
    folder = tmp_path_factory.mktemp("admin") / "golden"
    shutil.copytree(GOLDEN, folder, ignore=shutil.ignore_patterns("var"))
    (folder / "cockpit.toml").write_text((folder / "cockpit.toml").read_text() + EXTRA, encoding="utf-8")
    (folder / "extra_headcount.csv").write_text("unit_id,month_on,avg_employees\nP1,2025-02-01,21\n"
                                                "ZZ,2025-02-01,5\n", encoding="utf-8")
    writer = Writer(config.load(folder / "cockpit.toml", environ={"MES_TOKEN": SECRET}), clock=lambda: NOW)
    writer.refresh()
    writer.close()
    return folder


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("MES_TOKEN", SECRET)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return monkeypatch


@pytest.fixture
def app(plant, env):
    return create_app(config.load(plant / "cockpit.toml"))


def _private_app(plant: Path, tmp_path: Path):
    """A copy of the loaded plant that a test may change, with its settings and the admin callbacks."""
    folder = tmp_path / "plant"
    shutil.copytree(plant, folder)
    settings = config.load(folder / "cockpit.toml")
    return folder, settings, create_app(settings).admin.callbacks


def _client(app, address: str):
    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _list_request(client) -> dict:
    """A real callback request body for the connector list, built from the app's own dependencies."""
    deps = client.get("/admin/_dash-dependencies").get_json()
    dep = next(d for d in deps if "admin-connectors.children" in d["output"])
    return {"output": dep["output"],
            "outputs": [{"id": "admin-connectors", "property": "children"},
                        {"id": "admin-select", "property": "options"}],
            "inputs": [{"id": "admin-list-tick", "property": "n_intervals", "value": 1}],
            "state": [{"id": "admin-url", "property": "search", "value": ""}],
            "changedPropIds": ["admin-list-tick.n_intervals"]}


ADMIN_GETS = ["/admin/", "/admin", "/admin/_dash-layout", "/admin/_dash-dependencies", "/ADMIN/", "/admin/x/y"]


def test_loopback_reaches_the_page_and_its_callbacks(app):
    client = _client(app, "127.0.0.1")
    for path in ("/admin/", "/admin/_dash-layout", "/admin/_dash-dependencies"):
        assert client.get(path).status_code == 200, path
    response = client.post("/admin/_dash-update-component", json=_list_request(client))
    assert response.status_code == 200
    assert "mes_api" in response.get_data(as_text=True)
    assert _client(app, "::1").get("/admin/").status_code == 200


def test_the_lan_gets_403_on_the_page_and_on_direct_callback_posts(app):
    body = _list_request(_client(app, "127.0.0.1"))
    lan = _client(app, LAN)
    for path in ADMIN_GETS:
        assert lan.get(path).status_code == 403, path
    assert lan.post("/admin/_dash-update-component", json=body).status_code == 403
    # the wall's own endpoint does not know the admin callbacks, so it cannot be used as a side door
    side_door = lan.post("/_dash-update-component", json=body)
    assert side_door.status_code != 200 and "mes_api" not in side_door.get_data(as_text=True)
    assert lan.get("/").status_code == 200  # the wall stays open to the LAN
    assert lan.get("/_dash-layout").status_code == 200


def test_token_header_opens_the_gate_and_a_wrong_one_does_not(app):
    lan = _client(app, LAN)
    assert lan.get("/admin/", headers={TOKEN_HEADER: TOKEN}).status_code == 200
    body = _list_request(_client(app, "127.0.0.1"))
    assert lan.post("/admin/_dash-update-component", json=body, headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert lan.get("/admin/", headers={TOKEN_HEADER: TOKEN + "x"}).status_code == 403
    assert lan.get("/admin/", headers={TOKEN_HEADER: ""}).status_code == 403


def test_without_the_token_variable_only_loopback_works(app, env):
    env.delenv(TOKEN_ENV)
    lan = _client(app, LAN)
    assert lan.get("/admin/", headers={TOKEN_HEADER: TOKEN}).status_code == 403
    assert lan.get("/admin/", headers={TOKEN_HEADER: ""}).status_code == 403
    assert lan.post("/admin-login", data={"token": ""}).status_code == 403
    assert _client(app, "127.0.0.1").get("/admin/").status_code == 200


def test_a_short_token_is_ignored(app, env):
    env.setenv(TOKEN_ENV, "short")
    assert _client(app, LAN).get("/admin/", headers={TOKEN_HEADER: "short"}).status_code == 403


def test_login_sets_an_httponly_strict_cookie_holding_an_hmac(app):
    lan = _client(app, LAN)
    assert lan.get("/admin-login").status_code == 200
    assert lan.post("/admin-login", data={"token": "wrong"}).status_code == 403
    response = lan.post("/admin-login", data={"token": TOKEN})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert cookie_value(TOKEN) in cookie
    assert lan.get("/admin/").status_code == 200  # the client now sends the cookie
    lan.get("/admin-logout")
    assert lan.get("/admin/").status_code == 403
    forged = _client(app, LAN)
    forged.set_cookie(COOKIE, cookie_value("some-other-token-value"), path="/admin")
    assert forged.get("/admin/").status_code == 403


def test_cross_origin_posts_and_rebound_hosts_are_refused_even_from_loopback(app):
    local = _client(app, "127.0.0.1")
    body = _list_request(local)
    assert local.post("/admin/_dash-update-component", json=body,
                      headers={"Origin": "http://evil.example"}).status_code == 403
    assert local.post("/admin/_dash-update-component", json=body,
                      headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert local.post("/admin/_dash-update-component", json=body,
                      headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert local.get("/admin/", headers={"Host": "evil.example:8050"}).status_code == 403  # DNS rebinding


def test_behind_a_proxy_loopback_can_be_switched_off(plant, env):
    path = plant / "behind-proxy.toml"
    path.write_text("[web]\nadmin_from_loopback = false\n\n" + (plant / "cockpit.toml").read_text(), encoding="utf-8")
    app = create_app(config.load(path))
    assert _client(app, "127.0.0.1").get("/admin/").status_code == 403
    assert _client(app, "127.0.0.1").get("/admin/", headers={TOKEN_HEADER: TOKEN}).status_code == 200


def test_no_admin_response_or_callback_output_contains_a_secret(app):
    local = _client(app, "127.0.0.1")
    texts = [local.get(p).get_data(as_text=True) for p in ("/admin/", "/admin/_dash-layout", "/admin-login")]
    texts.append(local.post("/admin/_dash-update-component", json=_list_request(local)).get_data(as_text=True))
    cb = app.admin.callbacks
    for lang in ("", "?lang=en"):
        texts += [str(cb.render("/admin/", lang)), str(cb.connectors(1, lang)), str(cb.details("mes_api", 1, lang)),
                  str(cb.test(1, "mes_api", lang)), str(cb.preview(1, "mes_api", lang)),
                  str(cb.fill_form("edit", "mes_api", lang)), str(cb.download(1, None, lang))]
    joined = "\n".join(texts)
    assert "MES_TOKEN" in joined  # the variable's name is shown …
    assert SECRET not in joined and TOKEN not in joined  # … its value never


def test_list_shows_state_rows_and_secret_status(app, env):
    cb = app.admin.callbacks
    table, choices = cb.connectors(1, "")
    text = str(table)
    assert {"production_record", "mes_api", "extra_headcount"} <= set(choices)
    assert "MES_TOKEN" in text and "已设置" in text and "失败" in text  # mes_api cannot connect: failed
    env.delenv("MES_TOKEN")
    assert "未设置" in str(cb.connectors(1, "")[0])
    assert "not set" in str(cb.connectors(1, "?lang=en")[0])


def test_test_and_preview_callbacks(app):
    cb = app.admin.callbacks
    ok = str(cb.test(1, "production_record", "?lang=en"))
    assert "Test passed" in ok and "record_id" in ok
    assert "Connection refused" in str(cb.test(1, "mes_api", ""))
    preview = str(cb.preview(1, "extra_headcount", "?lang=en"))
    assert "quarantined" in preview and "unknown org_unit ZZ" in preview and "valid" in preview
    assert "Choose a connector first" in str(cb.preview(1, None, "?lang=en"))


def test_run_now_is_a_request_for_the_writer(app, plant):
    cb = app.admin.callbacks
    requests_dir = plant / "var" / "requests"
    pending, message = cb.run_now(1, "production_record", [], "")
    assert "production_record" in message
    rid = pending[0]["rid"]
    body = json.loads((requests_dir / f"{rid}.json").read_text())
    assert body["action"] == "load" and body["args"] == {"connectors": ["production_record"]}
    assert "排队中" in str(cb.poll(1, pending, ""))
    assert "cockpit scheduler" in str(cb.poll(1, pending, ""))  # no writer holds the lock here
    req.answer(requests_dir / f"{rid}.json", {"ok": True, "runs": [{"connector": "production_record",
                                                                   "status": "unchanged", "rows_in": 0}]})
    done = str(cb.poll(1, pending, "?lang=en"))
    assert "done" in done and "unchanged" in done


def test_run_history_quarantine_and_download(app):
    cb = app.admin.callbacks
    history, quarantine = cb.details("extra_headcount", 1, "")
    assert "ok" in str(history)
    assert "unknown org_unit ZZ" in str(quarantine)
    download, message = cb.download(1, "extra_headcount", "?lang=en")  # no writer runs here: the published rows
    assert download["filename"] == "quarantine-extra_headcount-newest.csv"
    assert "No writer is running" in message and "1 newest published rows" in message
    lines = download["content"].lstrip("\ufeff").splitlines()
    assert lines[0].startswith("run_id,connector") and len(lines) == 2 and "ZZ" in lines[1]


def test_save_config_from_the_form(plant, env, tmp_path):
    folder = tmp_path / "plant"
    shutil.copytree(plant, folder, ignore=shutil.ignore_patterns("var"))
    app = create_app(config.load(folder / "cockpit.toml"))
    cb = app.admin.callbacks
    name, system, kind, stream, _schedule, share, options, mapping, constants, digest, secrets, fixed = \
        cb.fill_form("edit", "mes_api", "")
    assert fixed and not cb.fill_form("new", None, "")[-1]
    assert 'token = {env = "MES_TOKEN"}' in options and SECRET not in options and "MES_TOKEN" in str(secrets)
    message, _ = cb.save(1, "edit", name, system, kind, stream, "30m", share, options, mapping, constants, digest, "")
    assert "已保存" in str(message)
    assert 'schedule = "30m"' in (folder / "cockpit.toml").read_text()
    assert len(list(folder.glob("cockpit.toml.bak-*"))) == 1
    refused, _ = cb.save(1, "edit", name, system, kind, "no_such_stream", "30m", share, options, mapping, constants,
                         None, "?lang=en")
    assert "Not saved" in str(refused) and "not a canonical table" in str(refused)
    assert SECRET not in str(refused)


def test_targets_are_edited_in_a_table_and_saved_through_the_writer(plant, env, tmp_path):
    folder, settings, cb = _private_app(plant, tmp_path)
    page = str(cb.render("/admin/", ""))
    assert "admin-targets-table" in page and "目标与预警阈值" in page and "越低越好" in page
    rows = cb.add_target_row(1, [])
    first_of_month = plant_now(settings).date().replace(day=1).isoformat()
    assert rows == [{"kpi_id": None, "unit_id": None, "valid_from": first_of_month, "target": None, "warn": None,
                     "note": ""}]
    digest = admin_data.target_table(cb.handlers.serving, "zh").fingerprint
    before = set((folder / "var" / "requests").glob("*.json"))
    # A warning threshold on the better side is refused here, before anything reaches the writer.
    bad = [{**rows[0], "kpi_id": "defect_rate", "unit_id": "W1", "target": 5, "warn": 4}]
    pending, _digest, message = cb.save_targets(1, bad, digest, [], "?lang=en")
    assert "Not saved" in str(message) and "worse side" in str(message)
    assert set((folder / "var" / "requests").glob("*.json")) == before
    good = [{**rows[0], "kpi_id": "defect_rate", "unit_id": "W1", "valid_from": "2025-02-01", "target": 5, "warn": 6},
            {"kpi_id": None, "unit_id": None, "valid_from": "", "target": None, "warn": None, "note": ""}]
    pending, new_digest, message = cb.save_targets(1, good, digest, [], "")
    assert "已提交 1 行目标" in str(message)
    request = folder / "var" / "requests" / f"{pending[0]['rid']}.json"
    body = json.loads(request.read_text())
    assert body["action"] == "targets" and body["args"]["replace"] and body["args"]["expected"] == digest
    writer = Writer(settings, clock=lambda: NOW)
    try:
        answer = writer.execute(body["action"], body["args"])
    finally:
        writer.close()
    req.answer(request, {"ok": True, **answer})
    assert "1 target rows stored" in str(cb.poll(1, pending, "?lang=en"))
    table = admin_data.target_table(cb.handlers.serving, "zh")
    assert table.rows == [{"kpi_id": "defect_rate", "unit_id": "W1", "valid_from": "2025-02-01", "target": 5.0,
                           "warn": 6.0, "note": ""}]
    assert table.fingerprint == new_digest  # the next save from the same open page is not refused


def test_the_quarantine_download_is_every_row_exported_by_the_writer(plant, env, tmp_path):
    """The serving file keeps each connector's newest 1000 rejects; the download asks the writer for all."""
    import base64
    import threading

    from cockpit.store import writer_lock

    _folder, settings, cb = _private_app(plant, tmp_path)
    with writer_lock(settings, "test writer"):
        writer = Writer(settings, clock=lambda: NOW)
        writer.con.execute("""INSERT INTO quarantine SELECT 99, 'extra_headcount', 'headcount', 'big.csv', range + 2,
            'unit_id', 'unknown org_unit ZZ', 'ZZ,2025-02-01,5', TIMESTAMP '2025-02-01 00:00' FROM range(1500)""")
        writer.publish()
        stop = threading.Event()

        def answer_requests():  # the scheduler's request loop, reduced to this test's one request
            while not stop.is_set():
                for path in req.pending(settings.requests_dir):
                    body = json.loads(path.read_text())
                    req.answer(path, {"ok": True, **writer.execute(body["action"], body["args"])})
                stop.wait(0.05)

        thread = threading.Thread(target=answer_requests, daemon=True)
        thread.start()
        try:
            _history, quarantine = cb.details("extra_headcount", 1, "?lang=en")
            assert "Showing the latest 100 of 1,501 rows" in str(quarantine)  # 1 from the fixture + 1500
            download, message = cb.download(1, "extra_headcount", "?lang=en")
        finally:
            stop.set()
            thread.join(timeout=10)
            writer.close()
    assert download["filename"] == "quarantine-extra_headcount.csv" and "Exported 1,501 rows" in message
    text = base64.b64decode(download["content"]).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("run_id,connector") and len(lines) == 1 + 1501
    assert SECRET not in text
