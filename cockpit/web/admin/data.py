"""What the admin page shows, gathered without Dash: the config as written, the published status, requests.

The list is built from the config file as written (not from resolved Settings), so it works while a
secret is unset in the web's environment and shows a connector IT just added before the scheduler
has published anything for it. Numbers come only from the serving file; the store is never opened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cockpit import config as config_mod
from cockpit import config_edit
from cockpit.config import Settings
from cockpit.serving import NotPublished, Serving
from connectors.base import ConnectorSpec
from connectors.probe import MASTER_TABLES, spec_for_probe


@dataclass
class OptionView:
    """One option for display: a plain value, or a secret shown only as its variable name and set / not set."""

    key: str
    value: str | None = None
    secret: str | None = None  # the environment variable's name
    is_set: bool = False
    children: list[OptionView] = field(default_factory=list)


@dataclass
class ConnectorRow:
    name: str
    system: str
    kind: str
    stream: str
    schedule: str
    state: str  # ok | failed | stale | never | pending (in the file, not yet published)
    last_run_at: str | None
    rows_loaded: int
    rows_quarantined: int
    data_as_of: str | None
    last_error: str | None
    options: list[OptionView]


def option_views(values: Mapping[str, Any], environ: Mapping[str, str]) -> list[OptionView]:
    out = []
    for key, value in values.items():
        if config_edit.is_secret_ref(value):
            name = str(value["env"])
            out.append(OptionView(key, secret=name, is_set=config_edit.secret_is_set(name, environ)))
        elif isinstance(value, Mapping):
            out.append(OptionView(key, children=option_views(value, environ)))
        elif config_edit.looks_secret(key) and isinstance(value, str) and value:
            out.append(OptionView(key, value="••••••"))  # a literal secret written by hand is never echoed
        else:
            out.append(OptionView(key, value=str(value)))
    return out


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)[:19]


def published_status(serving: Serving) -> pd.DataFrame:
    try:
        return serving.sources()
    except (NotPublished, duckdb.Error):
        return pd.DataFrame(columns=["connector"])


def connector_rows(settings: Settings, serving: Serving, environ: Mapping[str, str]) -> list[ConnectorRow]:
    raw = config_edit.read_raw(settings.path).get("connectors", {})
    status = {r["connector"]: r for r in published_status(serving).to_dict("records")}
    rows = []
    for name, table in raw.items():
        s = status.get(name, {})
        options = {k: v for k, v in table.items()
                   if k not in config_edit.RESERVED and k not in config_edit.SUBTABLES}
        rows.append(ConnectorRow(
            name=name, system=str(table.get("system", "")), kind=str(table.get("kind", "")),
            stream=str(table.get("stream", "")), schedule=str(table.get("schedule", "15m")),
            state=str(s.get("state") or "pending"), last_run_at=_text(s.get("last_run_at")),
            rows_loaded=int(s.get("rows_loaded") or 0), rows_quarantined=int(s.get("rows_quarantined") or 0),
            data_as_of=_text(s.get("data_as_of")), last_error=_text_full(s.get("last_error")),
            options=option_views(options, environ),
        ))
    return rows


def _text_full(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def published_at(serving: Serving) -> str | None:
    try:
        return serving.meta().get("published_at")
    except (NotPublished, duckdb.Error):
        return None


def runs(serving: Serving, name: str | None, limit: int = 50) -> pd.DataFrame:
    try:
        frame = serving.runs(2000)
    except (NotPublished, duckdb.Error):
        return pd.DataFrame()
    if name:
        frame = frame[frame["connector"] == name]
    return frame.head(limit)


def quarantine(serving: Serving, name: str | None) -> pd.DataFrame:
    """The published quarantine rows (newest first) of one connector, or of all."""
    try:
        if name:
            return serving.query("SELECT * FROM quarantine_recent WHERE connector = ? "
                                 "ORDER BY quarantined_at DESC, source_line", [name])
        return serving.query("SELECT * FROM quarantine_recent ORDER BY quarantined_at DESC, source_line")
    except (NotPublished, duckdb.Error):
        return pd.DataFrame()


def quarantine_total(serving: Serving, name: str | None) -> int:
    """Every quarantined row of one connector (or all), not only the newest rows the serving file keeps."""
    try:
        if name:
            frame = serving.query("SELECT sum(rows) AS n FROM quarantine_summary WHERE connector = ?", [name])
        else:
            frame = serving.query("SELECT sum(rows) AS n FROM quarantine_summary")
    except (NotPublished, duckdb.Error):
        return 0
    value = frame["n"].iloc[0] if len(frame) else None
    return 0 if value is None or pd.isna(value) else int(value)


def master_frames(serving: Serving) -> dict[str, pd.DataFrame]:
    """Published master data for the preview's scratch store; a table not published is simply absent."""
    out = {}
    for name in MASTER_TABLES:
        try:
            out[name] = serving.query(f"SELECT * FROM {name}")
        except (NotPublished, duckdb.Error):
            continue
    return out


def go_live(serving: Serving) -> date | None:
    try:
        value = serving.meta().get("go_live")
        return date.fromisoformat(value) if value else None
    except (NotPublished, duckdb.Error, ValueError):
        return None


def load_spec(settings: Settings, serving: Serving, name: str, environ: Mapping[str, str]) -> ConnectorSpec:
    """The connector as the scheduler would run it: from the file as it is now, with secrets resolved."""
    current = config_mod.load(settings.path, environ=environ)
    if name not in current.connectors:
        raise config_mod.ConfigError(f"no connector '{name}' in {settings.path.name}")
    return spec_for_probe(current.connectors[name], go_live(serving))


# --- targets ---------------------------------------------------------------------------------------

@dataclass
class TargetTable:
    """The published targets as the editor shows them, the fingerprint it started from, and its choices."""

    rows: list[dict]
    fingerprint: str
    units: dict[str, str]  # unit_id -> shown name, in tree order


def unit_choices(serving: Serving, lang: str) -> dict[str, str]:
    """unit_id -> shown name, in tree order, of the published org tree (empty before a publish)."""
    try:
        org = serving.org_units()
    except (NotPublished, duckdb.Error):
        return {}
    name = "name_en" if lang == "en" else "name_zh"
    return {str(u): f"{u} · {n}" for u, n in zip(org["unit_id"], org[name])}


def target_table(serving: Serving, lang: str) -> TargetTable:
    from kpis import targets

    try:
        frame = serving.query("SELECT * FROM kpi_target ORDER BY kpi_id, unit_id, valid_from")
    except (NotPublished, duckdb.Error):
        frame = pd.DataFrame(columns=list(targets.COLUMNS))
    units = unit_choices(serving, lang)
    stored = [tuple(r) for r in frame[list(targets.COLUMNS)].itertuples(index=False)]
    rows = [{"kpi_id": k, "unit_id": u, "valid_from": targets.as_text(v), "target": t, "warn": w,
             "note": targets.as_text(n)} for k, u, v, t, w, n in stored]
    return TargetTable(rows, targets.fingerprint(stored), units)


# --- run-now requests ---------------------------------------------------------------------------

def request_status(requests_dir: Path, rid: str) -> dict:
    """pending (file waiting), done / failed (answer present), or gone (someone else consumed the answer)."""
    if (requests_dir / f"{rid}.json").exists():
        return {"state": "pending"}
    done = requests_dir / f"{rid}.done.json"
    try:
        answer = json.loads(done.read_text())
    except (FileNotFoundError, ValueError):
        return {"state": "gone"}
    return {"state": "done" if answer.get("ok") else "failed", "answer": answer}


def submitted(at: datetime | None = None) -> str:
    return (at or datetime.now()).isoformat(sep=" ", timespec="seconds")
