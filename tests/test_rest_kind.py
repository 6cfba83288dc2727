"""REST kind against a real local HTTP server: paging, auth, retries, timeouts, incremental, end to end."""

from __future__ import annotations

import socket
import time

import pandas as pd
import pytest

from cockpit import config
from cockpit.writer import Writer
from connectors import http, registry
from connectors.base import ConnectorError, ConnectorSpec, RunContext
from connectors.kinds.rest_kind import RestOptions, order_key
from tests.conftest import NOW
from tests.rest_server import API_KEY_HEADER, N_RECORDS, RECORDS, TEST_CERT, TOKEN, serving

ALL_IDS = [f"R{i:03d}" for i in range(1, N_RECORDS + 1)]


@pytest.fixture
def server():
    with serving() as s:
        yield s


def _spec(url: str, **options) -> ConnectorSpec:
    return ConnectorSpec(
        name="mes_api", system="mes", kind="rest", stream="production_record",
        options={"url": url, "retries": 0, "backoff_s": 0.01, "timeout_s": 5, **options},
    )


def _pull(spec: ConnectorSpec, state: dict | None = None):
    connector = registry.create(spec)
    batches = list(connector.fetch(RunContext(now=NOW, state=state or {})))
    frame = pd.concat([b.frame for b in batches], ignore_index=True) if batches else pd.DataFrame()
    return frame, connector, batches


def _error(spec: ConnectorSpec, state: dict | None = None) -> str:
    with pytest.raises(ConnectorError) as info:
        _pull(spec, state)
    return str(info.value)


@pytest.mark.parametrize("path, options, requests", [
    ("/items", {}, 1),
    # 10 full pages, then the empty page that ends the run
    ("/paged", {"paginator": "page_number", "records_path": "data.items", "page_size_param": "per_page",
                "page_size": 10}, 11),
    # the server caps limit at 20: short pages must not end the run early
    ("/offset", {"paginator": "offset", "records_path": "results", "limit": 50}, 6),
    ("/cursor", {"paginator": "cursor", "records_path": "items", "cursor_path": "meta.next_cursor"}, 4),
    ("/linked", {"paginator": "header_link"}, 4),
])
def test_every_paginator_returns_each_record_once_in_order(server, path, options, requests):
    frame, _, batches = _pull(_spec(server.url + path, **options))
    assert frame["record_id"].tolist() == ALL_IDS
    assert frame["_source_line"].tolist() == list(range(1, N_RECORDS + 1))
    assert set(frame["_source_file"]) == {server.url + path}
    assert server.counts[path] == requests
    assert all(b.source == server.url + path for b in batches)


def test_values_arrive_as_text_the_way_a_csv_carries_them(server):
    frame, _, _ = _pull(_spec(server.url + "/nested"))
    row = frame.iloc[0].to_dict()
    assert row["qty.produced"] == str(RECORDS[0]["produced_qty"])  # nested objects flatten one level
    assert row["tags"] == '["a","b"]' and row["whole"] == "12" and row["ratio"] == "0.30000000000000004"
    assert row["note"] == ""
    assert all(isinstance(v, str) for k, v in row.items() if k != "_source_line")


@pytest.mark.parametrize("options, header, value", [
    ({"token": TOKEN}, "Authorization", f"Bearer {TOKEN}"),
    ({"token": TOKEN, "auth_header": API_KEY_HEADER}, API_KEY_HEADER, TOKEN),
    ({"headers": {API_KEY_HEADER: TOKEN}}, API_KEY_HEADER, TOKEN),
])
def test_credentials_are_sent_as_configured(server, options, header, value):
    frame, _, _ = _pull(_spec(server.url + "/secure", **options))
    assert len(frame) == 5
    sent = server.seen[-1][2]
    assert sent[header] == value
    assert TOKEN not in server.seen[-1][0] and TOKEN not in str(server.seen[-1][1])  # never in the URL


def test_rejected_credentials_fail_without_repeating_any_secret(server):
    wrong = "wrong-secret-0815"
    spec = _spec(server.url + "/secure?site=cq&api_key=query-secret-77", token=wrong,
                 headers={"X-Tenant": "tenant-secret-42"})
    message = _error(spec)
    assert "HTTP 401" in message and f"{server.url}/secure page 1" in message
    for secret in (wrong, "query-secret-77", "tenant-secret-42"):
        assert secret not in message
    assert wrong not in repr(spec) and "tenant-secret-42" not in repr(spec)


def test_a_500_is_retried_with_backoff(server):
    frame, _, _ = _pull(_spec(server.url + "/flaky", retries=3))
    assert len(frame) == 3 and server.counts["/flaky"] == 3  # two 500s, then the answer


def test_retries_that_run_out_fail_naming_the_status(server):
    message = _error(_spec(server.url + "/flaky", retries=1))
    assert "HTTP 500" in message and "after 1 retry" in message and "page 1" in message
    assert server.counts["/flaky"] == 2


@pytest.mark.parametrize("cap, at_least, below", [
    pytest.param(10.0, 1.0, 2.5, id="honoured"),  # backoff alone would retry at once (0.01 s factor)
    pytest.param(0.05, 0.0, 0.9, id="capped"),
])
def test_a_429_waits_for_retry_after_but_never_longer_than_the_cap(server, cap, at_least, below):
    clock = time.monotonic()
    frame, _, _ = _pull(_spec(server.url + "/throttled", retries=2, max_retry_after_s=cap))  # Retry-After: 1
    elapsed = time.monotonic() - clock
    assert len(frame) == 3 and server.counts["/throttled"] == 2
    assert at_least <= elapsed < below


def test_a_retry_after_that_is_not_whole_seconds_falls_back_to_backoff(server):
    """RFC 9110 allows whole seconds or a date; urllib3 refuses '0.4', and the run retries anyway."""
    clock = time.monotonic()
    frame, _, _ = _pull(_spec(server.url + "/throttled", retries=2, params={"after": "0.4"}))
    assert len(frame) == 3 and server.counts["/throttled"] == 2
    assert time.monotonic() - clock < 0.4  # the first backoff step is immediate


@pytest.fixture
def tls_server(monkeypatch):
    """The feed over HTTPS with a certificate nobody trusts; no CA bundle from the environment."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with serving(tls=True) as s:
        yield s


@pytest.mark.parametrize("options, verify", [
    ({}, True),
    ({"verify_tls": True}, True),
    ({"verify_tls": False}, False),
])
def test_tls_is_verified_unless_the_config_says_verify_tls_false(options, verify):
    opts = RestOptions.parse("mes_api", {"url": "https://mes.plant.local/api", **options})
    assert opts.verify_tls is verify
    session = http.make_session(retries=0, backoff_s=0.01, max_wait_s=1, headers={}, verify_tls=opts.verify_tls)
    assert session.verify is verify


@pytest.mark.parametrize("value", ["false", "no", 0])
def test_verify_tls_takes_only_a_boolean_so_a_typo_never_turns_verification_off(value):
    message = _error(_spec("https://mes.plant.local/api", verify_tls=value))
    assert "rest option verify_tls has an unusable value" in message


def test_an_untrusted_certificate_fails_by_default_and_says_what_to_do(tls_server):
    message = _error(_spec(tls_server.url + "/items"))
    assert "TLS certificate not trusted" in message and "verify_tls = false" in message
    assert tls_server.counts["/items"] == 0  # refused in the handshake: nothing was asked


def test_a_plant_ca_from_requests_ca_bundle_is_trusted(tls_server, tmp_path, monkeypatch):
    """No CA option in the config (yet): the bundle requests takes from the environment works."""
    bundle = tmp_path / "plant-ca.pem"
    bundle.write_text(TEST_CERT)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    frame, _, _ = _pull(_spec(tls_server.url + "/items"))
    assert frame["record_id"].tolist() == ALL_IDS


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_tls_false_reaches_a_self_signed_server(tls_server):
    frame, _, _ = _pull(_spec(tls_server.url + "/items", verify_tls=False))
    assert frame["record_id"].tolist() == ALL_IDS


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_tls_false_holds_when_the_environment_names_a_ca_bundle(tls_server, monkeypatch):
    import certifi  # requests' own dependency: a bundle that does not trust the test server

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    frame, _, _ = _pull(_spec(tls_server.url + "/items", verify_tls=False))
    assert frame["record_id"].tolist() == ALL_IDS


def test_a_hanging_server_times_out_quickly(server):
    clock = time.monotonic()
    message = _error(_spec(server.url + "/slow", timeout_s=0.2, retries=1))
    assert time.monotonic() - clock < 2
    assert "no answer within timeout_s = 0.2 s (2 attempts)" in message and "/slow page 1" in message
    assert server.counts["/slow"] == 2


def test_nobody_listening_fails_clearly():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    message = _error(_spec(f"http://127.0.0.1:{port}/items?key=abc-secret-1"))
    assert f"http://127.0.0.1:{port}/items page 1: request failed" in message
    assert "abc-secret-1" not in message


@pytest.mark.parametrize("path, options, expected", [
    ("/malformed", {}, "page 1: response is not valid JSON (Expecting"),
    ("/wrong-shape", {"records_path": "data.items"},
     "expected a list of records at records_path 'data.items', found a JSON dict"),
    ("/paged", {"records_path": "data.rows"}, "records_path 'data.rows', found nothing"),
    ("/nowhere", {}, "HTTP 404 Not Found (check url)"),
    ("/items", {"paginator": "page_number"}, "page 2: the server returned the same records as the page"),
    ("/paged", {"paginator": "page_number", "records_path": "data.items", "page_size_param": "per_page",
                "max_pages": 3}, "page 4: more than max_pages = 3 pages"),
    ("/items", {"paginater": "offset"}, "unknown rest option 'paginater' (did you mean 'paginator'?)"),
    ("/items", {"paginator": "cursor"}, "paginator 'cursor' needs cursor_path"),
])
def test_bad_answers_and_settings_fail_with_a_clear_message(server, path, options, expected):
    message = _error(_spec(server.url + path, **options))
    assert expected in message
    if "page" in expected:
        assert server.url + path.split("?")[0] in message


def _incremental(server, **options) -> ConnectorSpec:
    return _spec(server.url + "/incremental", paginator="page_number", page_size=25,
                 incremental_field="updated_at", incremental_param="updated_after", **options)


def test_incremental_run_asks_only_for_records_newer_than_the_stored_mark(server):
    server.visible = 60
    frame, connector, _ = _pull(_incremental(server))
    assert frame["record_id"].tolist() == ALL_IDS[:60]
    mark = connector.new_state["high_water_mark"]
    assert mark == RECORDS[59]["updated_at"]
    assert "updated_after" not in server.seen[0][1]  # first run: everything

    server.visible = N_RECORDS
    server.seen.clear()
    frame, connector, _ = _pull(_incremental(server), state={"high_water_mark": mark})
    assert frame["record_id"].tolist() == ALL_IDS[60:]
    assert {q["updated_after"] for _, q, _ in server.seen} == {mark}
    assert connector.new_state == {"high_water_mark": RECORDS[-1]["updated_at"]}

    last = {"high_water_mark": RECORDS[-1]["updated_at"]}
    frame, connector, batches = _pull(_incremental(server), state=last)
    assert batches == [] and connector.new_state == {}  # nothing new: the stored mark stays


def test_a_source_that_goes_backwards_is_reported_not_applied(server):
    mark = RECORDS[49]["updated_at"]
    spec = _spec(server.url + "/items", incremental_field="updated_at", incremental_param="updated_after")
    message = _error(spec, state={"high_water_mark": mark})
    assert "cursor went backwards" in message and RECORDS[0]["updated_at"] in message and mark in message
    assert "record 1" in message


@pytest.mark.parametrize("earlier, later", [
    ("9", "10"), ("2025-01-06 08:00:00", "2025-01-06T09:00:00"),
    ("2025-01-06T08:00:00Z", "2025-01-06 09:00:00+00:00"),
    ("2025-01-06T08:30:00+08:00", "2025-01-06T01:00:00Z"), ("abc", "abd"),
])
def test_cursor_values_compare_by_meaning_not_spelling(earlier, later):
    assert order_key(earlier) < order_key(later)


@pytest.mark.parametrize("url, clean", [
    ("https://user:pw@mes.example:8443/api/v1/records?token=x#f", "https://mes.example:8443/api/v1/records"),
    ("http://127.0.0.1:8080/items", "http://127.0.0.1:8080/items"),
])
def test_urls_are_shown_without_credentials_or_query(url, clean):
    assert http.clean_url(url) == clean


def test_next_links_may_not_carry_credentials_to_another_host():
    assert http.same_origin("https://mes.example/api?page=1", "https://mes.example/api?page=2")
    assert not http.same_origin("https://mes.example/api", "https://evil.example/api")
    assert not http.same_origin("https://mes.example/api", "http://mes.example/api")


# --- end to end: config with an env secret -> loader -> DuckDB store --------------------------------

def _writer(golden_dir, server, path: str, **extra) -> Writer:
    lines = [
        "[connectors.mes_api]", 'system = "mes"', 'kind = "rest"', 'stream = "production_record"',
        f'url = "{server.url}{path}"', 'token = { env = "MES_TOKEN" }', 'paginator = "page_number"',
        "page_size = 40", "retries = 1", "backoff_s = 0.01", "timeout_s = 5",
        *(f"{k} = {v!r}".replace("'", '"') for k, v in extra.items()),
    ]
    toml = golden_dir / "cockpit.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return Writer(config.load(toml, environ={"MES_TOKEN": TOKEN}), clock=lambda: NOW)


def _store(con) -> dict:
    return {
        "rows": con.execute("SELECT * EXCLUDE (run_id) FROM production_record ORDER BY ALL").fetchall(),
        "state": con.execute("SELECT * FROM connector_state ORDER BY ALL").fetchall(),
    }


def _api_rows(con) -> int:
    return con.execute("SELECT count(*) FROM production_record WHERE record_id LIKE 'R0%'").fetchall()[0][0]


@pytest.fixture
def api_writer(golden_dir, server):
    writer = _writer(golden_dir, server, "/incremental", incremental_field="updated_at",
                     incremental_param="updated_after")
    yield writer
    writer.close()


def test_end_to_end_incremental_load_into_the_store(api_writer, server):
    server.visible = 60
    results = {r.connector: r for r in api_writer.load()}
    assert all(r.status == "ok" for r in results.values()), {n: r.error for n, r in results.items()}
    first = results["mes_api"]
    assert (first.rows_in, first.rows_loaded, first.rows_quarantined) == (60, 60, 0)
    con = api_writer.con
    assert _api_rows(con) == 60
    assert con.execute("SELECT unit_id, product_id, produced_qty, good_qty FROM production_record "
                       "WHERE record_id = 'R007'").fetchall() == [("L1", "A", 12.0, 10.0)]
    assert con.execute("SELECT value FROM connector_state WHERE connector = 'mes_api' "
                       "AND key = 'high_water_mark'").fetchall() == [(RECORDS[59]["updated_at"],)]
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for _, _, h in server.seen)

    before = _store(con)
    again = api_writer.load(["mes_api"])[0]
    assert (again.status, again.rows_loaded) == ("unchanged", 0)  # asked only for newer records: none
    assert _store(con) == before

    server.visible = N_RECORDS
    more = api_writer.load(["mes_api"])[0]
    assert (more.status, more.rows_in, more.rows_loaded) == ("ok", 35, 35)
    assert _api_rows(con) == 95


def test_end_to_end_rerun_of_a_full_pull_changes_nothing(golden_dir, server):
    writer = _writer(golden_dir, server, "/paged", records_path="data.items", page_size_param="per_page")
    try:
        first = {r.connector: r for r in writer.load()}["mes_api"]
        assert (first.status, first.rows_loaded) == ("ok", 95)
        before = _store(writer.con)
        again = writer.load(["mes_api"])[0]
        assert (again.status, again.rows_loaded, again.rows_unchanged) == ("ok", 0, 95)
        assert _store(writer.con) == before
    finally:
        writer.close()


def test_end_to_end_failing_server_leaves_the_store_untouched(api_writer, server):
    server.visible = 60
    api_writer.load()
    before = _store(api_writer.con)
    spec = api_writer.settings.connectors["mes_api"]
    # pages 1 and 2 (R001-R080) are staged, then the run fails: R061-R080 must not land
    options = {k: v for k, v in spec.options.items() if not k.startswith("incremental")}
    api_writer.settings.connectors["mes_api"] = type(spec)(**{
        **spec.__dict__, "options": {**options, "url": server.url + "/paged", "records_path": "data.items",
                                     "page_size_param": "per_page", "max_pages": 2}})
    result = api_writer.load(["mes_api"])[0]
    assert result.status == "failed" and "more than max_pages = 2" in result.error
    api_writer.settings.connectors["mes_api"] = type(spec)(**{
        **spec.__dict__, "options": {**spec.options, "url": server.url + "/down?key=q-secret-5"}})
    result = api_writer.load(["mes_api"])[0]
    assert result.status == "failed"
    assert result.error == f"{server.url}/down page 1: HTTP 503 Service Unavailable still after 1 retry; " \
                           'the server said: {"error": "maintenance"}'
    assert _store(api_writer.con) == before
    runs = api_writer.con.execute(
        "SELECT status, rows_loaded, error FROM load_run WHERE connector = 'mes_api' ORDER BY run_id"
    ).fetchall()
    assert [r[0] for r in runs] == ["ok", "failed", "failed"] and runs[-1][1] == 0
    assert all(TOKEN not in (r[2] or "") and "q-secret-5" not in (r[2] or "") for r in runs)


def test_an_optional_field_omitted_by_the_api_is_null_not_a_failure(server):
    spec = _spec(server.url + "/items")
    mapping = {name: name for name in ("record_id", "unit_id", "product_id", "start_at", "end_at", "produced_qty",
                                       "good_qty", "scrap_qty", "rework_qty")}
    spec = ConnectorSpec(**{**spec.__dict__, "mapping": {**mapping, "order_id": "order_no"}})
    batches = list(registry.create(spec).batches(RunContext(now=NOW, state={})))
    assert len(batches[0].frame) == N_RECORDS and set(batches[0].frame["order_id"]) == {""}
    spec = ConnectorSpec(**{**spec.__dict__, "mapping": {**mapping, "unit_id": "line"}})
    with pytest.raises(ConnectorError, match="column 'line' for field unit_id not found"):
        list(registry.create(spec).batches(RunContext(now=NOW, state={})))
