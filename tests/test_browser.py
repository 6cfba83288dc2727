"""The wall screen in a real browser: headless Chromium against `cockpit scheduler` + `cockpit serve`.

One scratch copy of the live demo (cockpit.toml with 14 months of mock history, every connector on a
1 h schedule so nothing moves by itself, plus a CSV connector `erp_cost_fix` the tests feed) is built by
the real scheduler and served by the real web process for the whole module; one Chromium is reused.
The tests run in file order and the data-changing test (a cost correction loaded while the wall is
open) runs last, so every earlier test sees the data as first published.

Screenshots go to tests/artifacts/ (gitignored). Run: python -m pytest tests/test_browser.py -q
"""

from __future__ import annotations

import csv
import os
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_helpers import (
    COST_FIX_HEADER,
    JS_CHARTS_DRAWN,
    JS_OVERFLOW,
    JS_TILES,
    JS_WATCH_TILE,
    ROOT,
    Browser,
    Miss,
    Proc,
    Site,
    browser_missing,
    cockpit_argv,
    free_port,
    http_status,
    kpis_json,
    make_site,
    run_cli,
    wait_until,
    write_atomically,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

_MISSING = browser_missing()
if _MISSING:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the browser tests: {_MISSING}", pytrace=False)
    print(f"\ntests/test_browser.py skipped: {_MISSING}", file=sys.stderr)
    pytest.skip(_MISSING, allow_module_level=True)

from cockpit.web import ids
from cockpit.web.format import number, signed_pct
from cockpit.web.i18n import t
from kpis.registry import all_kpis

OUTCOMES = ["unit_operating_cost", "defect_rate", "energy_per_unit", "labour_productivity", "output_value_per_head"]
CJK_FONT = "Noto Sans CJK SC"
WAITING_ZH, WAITING_EN = t("waiting", "zh"), t("waiting", "en")
FLAT_BAND = 0.05  # |improvement| below this is shown as flat (cockpit.web.format.tone)

# boxes whose content must fit (scroll size within client size): the brief's four plus the one-line texts
# inside them, which are nowrap and would otherwise be cut silently by an ellipsis or overflow: hidden
WALL_BOXES = (".tile, .panel, .chip, .header, .tile-name, .tile-value, .tile-improvement, .tile-baseline, "
              ".panel-title, .brand, .header-right")
WALL_TEXTS = (".tile-name, .tile-number, .tile-unit, .tile-pct, .tile-baseline, .panel-title, .chip-name, "
              ".chip-time, .brand-title, .brand-period, .as-of, .clock")
DRILL_BOXES = ".panel, .header, .drill-head, .drill-bar, .definition, .child, .panel-title"
DRILL_TEXTS = ".drill-title, .drill-unit, .drill-value, .drill-base, .drill-imp, .child, .panel-title, .drill-back"


def expected_class(improvement_pct: float | None) -> str:
    if improvement_pct is None:
        return "tile tile-neutral"
    if improvement_pct >= FLAT_BAND:
        return "tile tile-better"
    if improvement_pct <= -FLAT_BAND:
        return "tile tile-worse"
    return "tile tile-flat"


# --- the live site -------------------------------------------------------------------------------


@dataclass
class Live:
    site: Site
    url: str
    scheduler: Proc
    web: Proc
    doc: dict  # `cockpit kpis --json` as first published

    @property
    def procs(self) -> list[Proc]:
        return [self.scheduler, self.web]

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.procs)


def _previous_month() -> str:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1).isoformat()


def _outcomes_ok(site: Site) -> dict | None:
    doc = kpis_json(site)
    if not doc or not doc.get("report"):
        return None
    status = {k["id"]: k["status"] for k in doc["kpis"]}
    return doc if all(status.get(k) == "ok" for k in OUTCOMES) else None


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Live:
    site = make_site(tmp_path_factory.mktemp("browser-site"), finance_month=_previous_month())
    logs = site.dir / "logs"
    started: list[Proc] = []
    try:
        scheduler = Proc.start("scheduler", [*cockpit_argv(), "--config", str(site.config), "scheduler"], logs,
                               site.dir)
        started.append(scheduler)
        doc = wait_until(lambda: _outcomes_ok(site), 45, "`cockpit kpis --json` status ok for the five outcomes",
                         lambda: scheduler.tail(), procs=[scheduler], interval=1.0)
        port = free_port()
        web = Proc.start("web", [*cockpit_argv(), "--config", str(site.config), "serve", "--port", str(port)], logs,
                         site.dir)
        started.append(web)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_status(url + "/") == 200, 30, f"HTTP 200 from {url}/",
                   lambda: "\n".join(p.tail() for p in started), procs=started)
        yield Live(site, url, scheduler, web, doc)
    finally:
        for p in reversed(started):
            p.stop()


@pytest.fixture(scope="session")
def browser() -> Browser:
    b = Browser.start()
    try:
        yield b
    finally:
        b.quit()


def diagnostics(browser: Browser, live: Live) -> str:
    try:
        where = browser.driver.current_url
    except Exception as exc:  # noqa: BLE001
        where = f"(no url: {exc!r})"
    return f"page: {where}\nbrowser console:\n{browser.console_text()}\n{live.tails()}"


def wait(browser: Browser, live: Live, predicate, timeout: float, what: str, interval: float = 0.2):
    return wait_until(predicate, timeout, what, lambda: diagnostics(browser, live), procs=live.procs,
                      interval=interval)


def tiles(browser: Browser) -> dict:
    return browser.js(JS_TILES, OUTCOMES)


def open_wall(browser: Browser, live: Live, width: int, height: int, query: str = "") -> dict:
    """Load the wall at an exact viewport and wait until tiles, charts, sparklines and chips are drawn."""
    browser.viewport(width, height)
    browser.open(f"{live.url}/{query}")
    def numbers_shown():
        s = tiles(browser)
        return s if all(v and v["number"] for v in s.values()) else Miss(s)

    state = wait(browser, live, numbers_shown, 20, f"five tiles showing numbers at {width}x{height}")
    wait(browser, live, lambda: browser.js(JS_CHARTS_DRAWN, f"#{ids.OEE_CHART}, #{ids.ENERGY_CHART}, "
                                                          f"#{ids.OUTPUT_CHART}", 3), 20, "the three wall charts drawn")
    wait(browser, live, lambda: browser.js(JS_CHARTS_DRAWN, ".tile-spark", len(OUTCOMES)), 20,
         "a sparkline in every tile")
    wait(browser, live, lambda: browser.js(f"return document.querySelectorAll('#{ids.SOURCES} .chip').length > 0"
                                           " && document.fonts.status === 'loaded'"), 20,
         "source chips shown and fonts loaded")
    time.sleep(0.3)  # let plotly finish its resize pass before anything is measured
    return state


def severe(entries: list[dict]) -> list[dict]:
    """SEVERE console entries, except a missing favicon (the only one this suite tolerates)."""
    return [e for e in entries if e.get("level") == "SEVERE"
            and not ("favicon" in e.get("message", "") and "404" in e.get("message", ""))]


def overflow(browser: Browser, boxes: str, texts: str) -> list[str]:
    return browser.js(JS_OVERFLOW, boxes, texts)


CHART_TEXT = f"#{ids.ENERGY_CHART} .xtick text"
MEASURED: dict[str, float] = {}  # font sizes seen by earlier tests, for the chart-scaling check


def font_px(browser: Browser, selector: str) -> float:
    return float(browser.js("return parseFloat(getComputedStyle(document.querySelector(arguments[0])).fontSize)",
                            selector))


# --- the wall at 1920x1080 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def wall_1080(browser: Browser, live: Live) -> dict:
    """The wall opened once at 1080p for the next four tests; returns what it showed and when."""
    browser.drain()
    mark = len(browser.console)
    state = open_wall(browser, live, 1920, 1080)
    MEASURED["chart_1080"] = font_px(browser, CHART_TEXT)
    return {"tiles": state, "console_from": mark, "number_px": font_px(browser, ".tile-number"),
            "opened": time.monotonic()}


def test_tiles_show_the_published_kpis(browser: Browser, live: Live, wall_1080):
    kpis = all_kpis()
    doc = {k["id"]: k for k in live.doc["kpis"]}
    shown = tiles(browser)
    problems = []
    for kpi_id in OUTCOMES:
        item, tile = doc[kpi_id], shown[kpi_id]
        want_number = number(item["report"], kpis[kpi_id].decimals)
        want_pct = signed_pct(item["improvement_pct"])
        if tile["number"] != want_number:
            problems.append(f"{kpi_id}: number {tile['number']!r}, kpis --json report {item['report']} -> {want_number!r}")
        if tile["pct"] != want_pct:
            problems.append(f"{kpi_id}: improvement {tile['pct']!r}, expected {want_pct!r} "
                            f"(improvement_pct {item['improvement_pct']})")
        if tile["cls"] != expected_class(item["improvement_pct"]):
            problems.append(f"{kpi_id}: class {tile['cls']!r}, expected {expected_class(item['improvement_pct'])!r} "
                            f"for improvement_pct {item['improvement_pct']}")
        if item["improvement_pct"] > FLAT_BAND and "tile-better" not in tile["cls"].split():
            problems.append(f"{kpi_id}: improvement {item['improvement_pct']} > 0 but class {tile['cls']!r}")
        if tile["name"] != kpis[kpi_id].name_zh or tile["unit"] != kpis[kpi_id].unit:
            problems.append(f"{kpi_id}: name/unit {tile['name']!r} {tile['unit']!r}")
    assert not problems, "\n".join(problems) + "\n" + diagnostics(browser, live)


def test_wall_fits_1080p_without_scroll_or_clipping(browser: Browser, live: Live, wall_1080):
    problems = overflow(browser, WALL_BOXES, WALL_TEXTS)
    assert not problems, "the 1080p wall overflows:\n" + "\n".join(problems) + "\n" + diagnostics(browser, live)


def test_chinese_renders_in_the_cjk_font(browser: Browser, live: Live, wall_1080):
    check = browser.js(f"return document.fonts.check('16px \"{CJK_FONT}\"')")
    family = browser.js("return getComputedStyle(document.querySelector('.tile-name')).fontFamily")
    # fonts.check is true for any font that needs no loading (even a missing one), so also ask Chromium which
    # font really drew the glyphs of a Chinese tile name
    used = browser.platform_fonts(f"#{ids.tile('defect_rate')} .tile-name")
    browser.screenshot("wall-1920x1080.png")
    assert check, f"document.fonts.check reports {CJK_FONT} unavailable"
    assert family.strip().strip("'\"").startswith(CJK_FONT), f".tile-name font-family is {family}"
    assert used and used[0]["familyName"] == CJK_FONT and not any(f["familyName"] != CJK_FONT for f in used), \
        f"the Chinese tile name was drawn with {used}, not only {CJK_FONT}"


def test_wall_console_has_no_errors(browser: Browser, live: Live, wall_1080):
    # settle: at least two refresh cycles (refresh_s = 2) and the clock ticking after the first render
    time.sleep(max(0.0, wall_1080["opened"] + 4.5 - time.monotonic()))
    browser.drain()
    entries = browser.console[wall_1080["console_from"]:]
    errors = severe(entries)
    assert not errors, "console errors on the wall:\n" + browser.console_text(errors) + "\n" + live.tails()


# --- 4K ------------------------------------------------------------------------------------------


def test_wall_at_4k_is_the_same_layout_twice_as_large(browser: Browser, live: Live, wall_1080):
    browser.drain()
    mark = len(browser.console)
    open_wall(browser, live, 3840, 2160)
    problems = overflow(browser, WALL_BOXES, WALL_TEXTS)
    px = font_px(browser, ".tile-number")
    MEASURED["chart_2160"] = font_px(browser, CHART_TEXT)
    browser.screenshot("wall-3840x2160.png")
    assert not problems, "the 4K wall overflows:\n" + "\n".join(problems) + "\n" + diagnostics(browser, live)
    ratio = px / wall_1080["number_px"]
    assert 1.9 <= ratio <= 2.1, f"tile number {px}px at 2160p vs {wall_1080['number_px']}px at 1080p (x{ratio:.2f})"
    assert not severe(browser.console[mark:]), "console errors at 4K:\n" + browser.console_text(
        severe(browser.console[mark:]))


def test_chart_text_scales_with_the_wall_at_4k():
    if {"chart_1080", "chart_2160"} - set(MEASURED):
        pytest.skip("needs the 1080p and 4K wall tests to have run")
    ratio = MEASURED["chart_2160"] / MEASURED["chart_1080"]
    assert 1.8 <= ratio <= 2.2, (f"chart tick labels {MEASURED['chart_2160']}px at 2160p vs {MEASURED['chart_1080']}px "
                                 f"at 1080p (x{ratio:.2f}); tiles and titles scale x2")


# --- drill-down ----------------------------------------------------------------------------------


def _plants() -> list[dict]:
    with open(ROOT / "sample_data" / "master" / "org_unit.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    top = next(r["unit_id"] for r in rows if r["level"] == "enterprise")
    return sorted((r for r in rows if r["parent_id"] == top), key=lambda r: int(r["sort_order"]))


def _children_of(unit_id: str) -> list[dict]:
    with open(ROOT / "sample_data" / "master" / "org_unit.csv", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["parent_id"] == unit_id]


def _drill_state(browser: Browser) -> dict:
    return browser.js("""
      const q = s => [...document.querySelectorAll(s)];
      const u = new URL(location.href);
      return {path: u.pathname, search: u.search, marker: window.__cockpit_marker,
              unit: (document.querySelector('.drill-unit') || {}).textContent || null,
              children: q('.drill-children a.child').map(a => ({text: a.innerText, href: a.getAttribute('href')})),
              panels: q('.drill-charts .panel .panel-title').map(e => e.textContent)};""")


def test_tile_click_reaches_the_drill_down(browser: Browser, live: Live):
    open_wall(browser, live, 1920, 1080)
    mark = len(browser.console)
    browser.js("window.__cockpit_marker = 7")
    browser.driver.find_element("id", ids.tile("defect_rate")).click()
    wait(browser, live, lambda: _drill_state(browser)["path"] == "/kpi/defect_rate", 10,
         "URL path /kpi/defect_rate after clicking the defect-rate tile")
    plants = _plants()
    assert len(plants) >= 2, plants

    def drawn_with_children(unit_id_children: list[dict]):
        s = _drill_state(browser)
        names = [c["text"].split("\n")[0].strip() for c in s["children"]]
        want = [r["name_zh"] for r in unit_id_children]
        drawn = browser.js(JS_CHARTS_DRAWN, ".drill-charts .chart", 2)
        return s if (names == want and drawn) else Miss({"names": names, "want": want, "charts_drawn": drawn, **s})

    state = wait(browser, live, lambda: drawn_with_children(plants), 15,
                 f"the trend chart, the breakdown chart and one child link per plant {[p['name_zh'] for p in plants]}")
    assert state["panels"] == [t("trend_vs_baseline", "zh"), t("breakdown", "zh")], state["panels"]
    assert state["marker"] == 7, "the tile click reloaded the page instead of navigating in place"
    assert all(c["text"].split("\n")[-1].strip() for c in state["children"]), f"child links without a value: {state}"
    time.sleep(0.3)
    problems = overflow(browser, DRILL_BOXES, DRILL_TEXTS)
    browser.screenshot("drill-1920x1080.png")
    assert not problems, "the drill-down overflows:\n" + "\n".join(problems) + "\n" + diagnostics(browser, live)

    first = plants[0]
    browser.driver.find_element("xpath", f"//a[contains(@class,'child')][.//span[text()='{first['name_zh']}']]").click()

    def one_level_down():
        s = _drill_state(browser)
        return s if parse_qs(s["search"].lstrip("?")).get("unit") == [first["unit_id"]] else Miss(s)

    state = wait(browser, live, one_level_down, 10, f"URL with unit={first['unit_id']} after clicking {first['name_zh']}")
    assert state["path"] == "/kpi/defect_rate", state
    state = wait(browser, live, lambda: drawn_with_children(_children_of(first["unit_id"])), 15,
                 f"{first['name_zh']}'s drill-down listing its workshops")
    assert first["name_zh"] in (state["unit"] or ""), state
    time.sleep(0.5)
    browser.drain()
    errors = severe(browser.console[mark:])
    assert not errors, "console errors on the drill-down:\n" + browser.console_text(errors) + "\n" + live.tails()


@pytest.mark.parametrize("width, height", [(1920, 1080), (3840, 2160)])
def test_a_lines_oee_by_shift(browser: Browser, live: Live, width: int, height: int):
    """A plant lead's link to a line's OEE by shift: one line per shift in the trend, 班次 selected."""
    with open(ROOT / "sample_data" / "master" / "org_unit.csv", encoding="utf-8") as f:
        line = next(r for r in csv.DictReader(f) if r["level"] == "line")
    browser.drain()
    mark = len(browser.console)
    browser.viewport(width, height)
    browser.open(f"{live.url}/kpi/oee?unit={line['unit_id']}&grain=shift")

    def shifts_drawn():
        legend = browser.js("return [...document.querySelectorAll('.drill-charts .chart .legendtext')]"
                            ".map(e => e.textContent)")
        checked = browser.js("const i = document.querySelector('.drill-periods input:checked');"
                             "return i ? i.closest('label').textContent : null")
        drawn = browser.js(JS_CHARTS_DRAWN, ".drill-charts .chart", 2)
        return {"legend": legend, "checked": checked} if legend and drawn else Miss({"legend": legend, "drawn": drawn})

    state = wait(browser, live, shifts_drawn, 20, f"{line['name_zh']}'s OEE trend drawn with a line per shift")
    assert state["legend"] == ["A", "B", "C"], state  # the default calendar: A 08:00, B 16:00, C 00:00
    assert state["checked"].strip() == t("grain_shift", "zh"), state
    time.sleep(0.3)
    legend_px = font_px(browser, ".drill-charts .chart .legendtext")
    radio_px = float(browser.js("return document.querySelector('.drill-periods input').getBoundingClientRect().width"))
    MEASURED[f"shift_legend_{height}"], MEASURED[f"radio_{height}"] = legend_px, radio_px
    if height == 2160 and "shift_legend_1080" in MEASURED:  # legend and grain buttons grow with the screen
        assert 1.9 <= legend_px / MEASURED["shift_legend_1080"] <= 2.1, (legend_px, MEASURED)
        assert 1.9 <= radio_px / MEASURED["radio_1080"] <= 2.1, (radio_px, MEASURED)
    problems = overflow(browser, DRILL_BOXES, DRILL_TEXTS)
    browser.screenshot(f"drill-shift-{width}x{height}.png")
    assert not problems, "the shift trend overflows:\n" + "\n".join(problems) + "\n" + diagnostics(browser, live)
    assert not severe(browser.console[mark:]), browser.console_text(severe(browser.console[mark:]))


# --- English -------------------------------------------------------------------------------------


def test_english_on_request(browser: Browser, live: Live):
    browser.drain()
    mark = len(browser.console)
    open_wall(browser, live, 1920, 1080, "?lang=en")
    title = browser.js("return document.getElementById('brand-title').textContent")
    shown = tiles(browser)
    kpis = all_kpis()
    assert title == "Future Factory Cockpit", title
    names = {k: shown[k]["name"] for k in OUTCOMES}
    assert names == {k: kpis[k].name_en for k in OUTCOMES}, names
    assert not any(WAITING_ZH in v["text"] or WAITING_EN in v["text"] for v in shown.values()), shown
    # English names are longer than Chinese ones: they must not be cut either
    problems = overflow(browser, WALL_BOXES, WALL_TEXTS)
    browser.screenshot("wall-en-1920x1080.png")
    assert not problems, "the English wall overflows:\n" + "\n".join(problems) + "\n" + diagnostics(browser, live)
    assert not severe(browser.console[mark:]), browser.console_text(severe(browser.console[mark:]))


# --- IT edits targets in the admin table (the writer stores and publishes them) -------------------


def _published_targets(site: Site) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(site.serving), read_only=True)
    try:
        return con.execute("SELECT kpi_id, unit_id, CAST(valid_from AS VARCHAR), target, warn FROM kpi_target "
                           "ORDER BY kpi_id").fetchall()
    finally:
        con.close()


def test_targets_are_edited_in_the_admin_table(browser: Browser, live: Live, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    rows = tmp_path / "targets.csv"
    rows.write_text("kpi_id,unit_id,valid_from,target,warn,note\nfirst_pass_yield,P1,2024-01-01,95,90,\n"
                    "scrap_ratio,P2,2024-01-01,1.5,2,\n", encoding="utf-8")
    imported = run_cli(live.site, "targets", "import", str(rows), "--wait", "30")
    assert imported.returncode == 0, imported.stderr + live.tails()
    assert len(_published_targets(live.site)) == 2
    browser.viewport(1920, 1080)
    browser.open(f"{live.url}/admin/")
    cells = 'document.querySelectorAll("#admin-targets-table td[data-dash-column=target]")'
    wait(browser, live, lambda: browser.js(f"return {cells}.length") == 2, 20, "the two published targets listed")
    browser.js("document.getElementById('admin-targets-table').scrollIntoView()")
    browser.driver.find_elements(By.CSS_SELECTOR, "#admin-targets-table td[data-dash-column=target]")[0].click()
    browser.driver.switch_to.active_element.send_keys("96", Keys.ENTER)
    browser.driver.find_elements(By.CSS_SELECTOR, "#admin-targets-table td.dash-delete-cell")[1].click()
    wait(browser, live, lambda: browser.js(f"return {cells}.length") == 1, 10, "the second row deleted")
    browser.driver.find_element(By.ID, "admin-targets-save").click()
    wait(browser, live, lambda: "已写入 1 行目标" in browser.js("return document.body.innerText"), 30,
         "the writer's answer: one target row stored")
    assert _published_targets(live.site) == [("first_pass_yield", "P1", "2024-01-01", 96.0, 90.0)]
    browser.screenshot("admin-targets-1920x1080.png")


# --- a load changes values in place (changes the data: keep it last) -----------------------------


def test_a_load_updates_the_open_wall_in_place(browser: Browser, live: Live):
    open_wall(browser, live, 1920, 1080)
    mark = len(browser.console)
    tile_id = "unit_operating_cost"
    before_doc = {k["id"]: k for k in live.doc["kpis"]}[tile_id]
    before = tiles(browser)[tile_id]
    browser.js("window.__cockpit_marker = 42")
    browser.js(JS_WATCH_TILE, tile_id, WAITING_ZH, ids.TILES)

    report_month = live.doc["report"]["from"]
    assert date.fromisoformat(report_month).day == 1, live.doc["report"]
    # replaces P1's cost of sales for the report month (the key is unit, category, month): ~10x a real month
    write_atomically(live.site.dir / "cost_fix_1.csv",
                     f"{COST_FIX_HEADER}\nP1,cost_of_sales,{report_month},50000000\n")
    load = Proc.start("load", [*cockpit_argv(), "--config", str(live.site.config), "load", "erp_cost_fix",
                               "--wait", "30"], live.site.dir / "logs", live.site.dir)
    try:
        samples: list[tuple[float, str, str]] = []
        t0 = time.monotonic()

        def changed():
            s = tiles(browser)[tile_id]
            samples.append((round(time.monotonic() - t0, 2), s["number"] or "", s["text"] or ""))
            return s if s["number"] and s["number"] != before["number"] else None

        after = wait_until(changed, 30, f"the {tile_id} tile to change from {before['number']!r} after the load",
                           lambda: f"load exit {load.popen.poll()}\n{load.tail()}\n{diagnostics(browser, live)}",
                           procs=live.procs, interval=0.2)
        rc = load.popen.wait(timeout=30)
    finally:
        load.stop()
    assert rc == 0, f"`cockpit load erp_cost_fix` exited {rc}\n{load.tail()}\n{live.scheduler.tail()}"

    marker = browser.js("return window.__cockpit_marker")
    watch = browser.js("window.__tile_observer.disconnect(); return window.__tile_watch")
    doc = kpis_json(live.site)
    item = {k["id"]: k for k in doc["kpis"]}[tile_id]
    kpis = all_kpis()

    assert marker == 42, "the page reloaded: window.__cockpit_marker is gone"
    blank = [s for s in samples if not s[1].strip() or WAITING_ZH in s[2] or WAITING_EN in s[2]]
    assert not blank, f"the tile went blank or showed a placeholder while updating: {blank[:5]}"
    assert watch["mutations"] > 0 and not watch["bad"], \
        f"a rendered state of the tile had no number or a placeholder: {watch}"
    assert item["report"] > before_doc["report"], (before_doc, item)
    assert after["number"] == number(item["report"], kpis[tile_id].decimals), (after, item)
    assert after["pct"] == signed_pct(item["improvement_pct"]), (after, item)
    assert after["cls"] == "tile tile-worse", (f"class {after['cls']!r} after the unit cost rose to {item['report']} "
                                               f"(improvement {item['improvement_pct']}%), was {before['cls']!r}")
    browser.drain()
    errors = severe(browser.console[mark:])
    assert not errors, "console errors during the live update:\n" + browser.console_text(errors)
