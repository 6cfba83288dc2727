"""Helpers for tests/test_browser.py: the live demo site in a scratch folder, and a real headless Chromium.

Everything here is bounded in time and cleans up after itself: the cockpit processes run in their own
session (process group) and are stopped with SIGTERM, then SIGKILL; every wait is a bounded poll whose
failure message carries the browser console and the processes' stderr tails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.proc_helpers import Proc, base_env, cockpit_argv, free_port  # noqa: F401 - shared with the process tests
from tests.proc_helpers import rewrite_atomically as write_atomically

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return (f"browser tests need {' and '.join(missing)} "
                "(apt-get install -y chromium chromium-driver fonts-noto-cjk)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser tests need selenium 4 (pip install 'selenium>=4.30')"
    return None


# --- the scratch demo site -----------------------------------------------------------------------


COST_FIX_HEADER = "unit_id,category,month_on,amount_cny"


@dataclass
class Site:
    dir: Path
    config: Path
    var: Path

    @property
    def serving(self) -> Path:
        return self.var / "serving.duckdb"


def make_site(dest: Path, finance_month: str) -> Site:
    """cockpit.toml (the live demo) rewritten for a test: store in dest, absolute master path, 14 months
    of history, a 2 s wall refresh, every connector on a 1 h schedule (nothing moves by itself), plus a
    CSV connector `erp_cost_fix` reading dest/cost_fix_*.csv that starts with one finance-cost row."""
    dest.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "cockpit.toml").read_text(encoding="utf-8")
    var = dest / "var"

    def sub(pattern: str, repl: str, expect: int | None = 1) -> None:
        nonlocal text
        text, n = re.subn(pattern, lambda _m: repl, text, flags=re.MULTILINE)
        assert n == expect or (expect is None and n > 0), f"cockpit.toml changed: {pattern!r} matched {n} times"

    sub(r'^path = "var/demo".*$', f"path = {json.dumps(str(var))}")
    sub(r"^master = .*$", f"master = {json.dumps(str(ROOT / 'sample_data' / 'master'))}")
    sub(r"^history_months = .*$", "history_months = 14")
    sub(r"^refresh_s = .*$", "refresh_s = 2")
    sub(r"^rotate_s = .*$", "rotate_s = 0")
    sub(r"^schedule = .*$", 'schedule = "1h"', expect=None)
    # the master-data CSV connectors' relative paths must not depend on the scratch folder
    text = re.sub(r'^path = "(sample_data/[^"]+)"', lambda m: f"path = {json.dumps(str(ROOT / m.group(1)))}",
                  text, flags=re.MULTILINE)
    text += ("\n[connectors.erp_cost_fix]\nsystem = \"erp\"\nkind = \"csv\"\nstream = \"operating_cost\"\n"
             f"path = {json.dumps(str(dest / 'cost_fix_*.csv'))}\nschedule = \"1h\"\n")
    config = dest / "cockpit.toml"
    config.write_text(text, encoding="utf-8")
    write_atomically(dest / "cost_fix_0.csv", f"{COST_FIX_HEADER}\nP1,finance,{finance_month},12345.67\n")
    return Site(dir=dest, config=config, var=var)


# --- processes -----------------------------------------------------------------------------------


def run_cli(site: Site, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """One `cockpit --config <site> ...` command, bounded; killed with its group on timeout."""
    proc = subprocess.Popen([*cockpit_argv(), "--config", str(site.config), *args], cwd=str(site.dir),
                            env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=5)
        raise AssertionError(f"`cockpit {' '.join(args)}` did not finish within {timeout:.0f} s\n"
                             f"[stdout]\n{out[-2000:]}\n[stderr]\n{err[-2000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def kpis_json(site: Site) -> dict | None:
    """`cockpit kpis --json`, or None while nothing is published."""
    r = run_cli(site, "kpis", "--json")
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def http_status(url: str, timeout: float = 3.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


class Miss:
    """A falsy predicate result that still says what was seen, for the failure message."""

    def __init__(self, seen: object):
        self.seen = seen

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Miss({self.seen!r})"


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               diagnostics: Callable[[], str] = lambda: "", procs=(), interval: float = 0.2):
    """Poll predicate() until truthy; after `timeout` s (or when a watched process dies) fail with `what`,
    the last value or exception and the diagnostics (console log, process output)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - reported in the failure message
            last = exc
        dead = [p.name for p in procs if not p.alive()]
        if dead or time.monotonic() >= deadline:
            why = f"{', '.join(dead)} exited" if dead else f"not within {timeout:.0f} s"
            raise AssertionError(f"{what}: {why} (last: {last!r})\n{diagnostics()}")
        time.sleep(interval)


# --- the browser ---------------------------------------------------------------------------------


@dataclass
class Browser:
    """One headless Chromium for the whole module; keeps every console entry (get_log drains them)."""

    driver: object
    profile: Path
    console: list[dict] = field(default_factory=list)

    @classmethod
    def start(cls) -> Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        profile = Path(tempfile.mkdtemp(prefix="cockpit-chromium-"))
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={profile}")
        opts.add_argument("--window-size=1920,1080")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(15)
        # the wall's clock is the browser's: show plant time as a wall screen in the plant would
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Shanghai"})
        return cls(driver, profile)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def viewport(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, url: str) -> None:
        self.drain()
        self.driver.get(url)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def drain(self) -> list[dict]:
        """Move new console entries into self.console; returns the new ones."""
        try:
            new = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - a dead session must not hide the real failure
            return []
        self.console.extend(new)
        return new

    def console_text(self, entries: list[dict] | None = None) -> str:
        self.drain()
        entries = self.console if entries is None else entries
        if not entries:
            return "(browser console empty)"
        return "\n".join(f"  [{e.get('level')}] {e.get('message')}" for e in entries[-40:])

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        assert self.driver.save_screenshot(str(path)), f"screenshot {path} not written"
        return path

    def platform_fonts(self, selector: str) -> list[dict]:
        """The fonts Chromium actually rendered the node's text with (CDP CSS.getPlatformFontsForNode)."""
        self.driver.execute_cdp_cmd("DOM.enable", {})
        self.driver.execute_cdp_cmd("CSS.enable", {})
        try:
            root = self.driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
            node = self.driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
            assert node, f"no node matches {selector}"
            return self.driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        finally:
            self.driver.execute_cdp_cmd("CSS.disable", {})
            self.driver.execute_cdp_cmd("DOM.disable", {})


# JavaScript run in the page ------------------------------------------------------------------------

# Tile state: id -> {cls, name, number, unit, pct, baseline, text}
JS_TILES = """
const out = {};
for (const id of arguments[0]) {
  const el = document.getElementById('tile-' + id);
  if (!el) { out[id] = null; continue; }
  const q = s => { const n = el.querySelector(s); return n ? n.textContent : null; };
  out[id] = {cls: el.className, name: q('.tile-name'), number: q('.tile-number'), unit: q('.tile-unit'),
             pct: q('.tile-pct'), baseline: q('.tile-baseline-value'), text: el.innerText};
}
return out;
"""

# Everything that overflows: the document, boxes whose content does not fit, text leaving its tile.
JS_OVERFLOW = r"""
const [boxSel, textSel] = arguments;
const de = document.documentElement, problems = [];
if (de.scrollHeight > innerHeight) problems.push(`document scrollHeight ${de.scrollHeight} > innerHeight ${innerHeight}`);
if (de.scrollWidth > innerWidth) problems.push(`document scrollWidth ${de.scrollWidth} > innerWidth ${innerWidth}`);
const label = el => el.id ? '#' + el.id : (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : el.tagName);
for (const el of document.querySelectorAll(boxSel)) {
  if (el.scrollWidth > el.clientWidth + 1) problems.push(`${label(el)} '${el.textContent.slice(0, 40)}' scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
  if (el.scrollHeight > el.clientHeight + 1) problems.push(`${label(el)} '${el.textContent.slice(0, 40)}' scrollHeight ${el.scrollHeight} > clientHeight ${el.clientHeight}`);
}
for (const el of document.querySelectorAll(textSel)) {
  const box = el.closest('.tile, .panel, .chip, .header, .drill-head, .definition') || document.body;
  const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
  if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
    problems.push(`${label(el)} '${el.textContent.slice(0, 40)}' [${r.left|0},${r.top|0},${r.right|0},${r.bottom|0}] outside ${label(box)} [${b.left|0},${b.top|0},${b.right|0},${b.bottom|0}]`);
  if (r.right > innerWidth + 1 || r.bottom > innerHeight + 1)
    problems.push(`${label(el)} '${el.textContent.slice(0, 40)}' leaves the viewport`);
}
return problems;
"""

# True when every listed container holds a rendered plotly plot of non-zero size.
JS_CHARTS_DRAWN = """
const els = [...document.querySelectorAll(arguments[0])];
if (els.length < arguments[1]) return false;
return els.every(e => { const svg = e.querySelector('.main-svg'); if (!svg) return false;
  const r = svg.getBoundingClientRect(); return r.width > 10 && r.height > 10; });
"""

# Record every DOM state of one tile that a frame could show: a MutationObserver runs after each commit.
JS_WATCH_TILE = """
const [id, waiting, container] = arguments;
window.__tile_watch = {mutations: 0, bad: [], seen: []};
const check = () => {
  const n = document.getElementById('tile-' + id);
  const num = n && n.querySelector('.tile-number');
  const text = num ? num.textContent.trim() : '';
  const w = window.__tile_watch;
  if (!w.seen.includes(text)) w.seen.push(text);
  if (!n || !num || !text || n.innerText.includes(waiting)) w.bad.push(n ? n.innerText.slice(0, 80) : '(tile gone)');
};
window.__tile_observer && window.__tile_observer.disconnect();
window.__tile_observer = new MutationObserver(() => { window.__tile_watch.mutations++; check(); });
window.__tile_observer.observe(document.getElementById(container), {subtree: true, childList: true, characterData: true, attributes: true});
check();
return true;
"""
