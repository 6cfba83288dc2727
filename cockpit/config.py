"""The one TOML config: store, plant time, periods, web, demo and connectors; secrets from the environment."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors.base import ConnectorSpec
from connectors.schema import STREAMS
from kpis.shifts import SHIFT_DAYS, Shift, ShiftError, default_shifts, parse_shifts

DEFAULT_PATH = "cockpit.toml"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")


class ConfigError(Exception):
    """The config cannot be used; the message names the key."""


def is_secret_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"env"}


def secret_names(value: Any) -> list[str]:
    """Every environment variable named by `{ env = NAME }` anywhere inside a value."""
    if is_secret_ref(value):
        return [str(value["env"])]
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in secret_names(v)]
    if isinstance(value, list):
        return [n for v in value for n in secret_names(v)]
    return []


def resolve_secret(value: Any, environ: Mapping[str, str]) -> Any:
    """`{ env = "NAME" }` -> the variable's value; unset is an error, never an empty string."""
    if is_secret_ref(value):
        name = str(value["env"])
        if name not in environ or environ[name] == "":
            raise ConfigError(f"environment variable {name} is not set")
        return environ[name]
    return value


def parse_schedule(text: str) -> dict[str, Any]:
    """'30s', '5m', '1h', '1d' -> interval trigger kwargs; five fields -> cron kwargs."""
    m = _DURATION.match(str(text))
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return {"trigger": "interval", unit: int(m.group(1))}
    fields = str(text).split()
    if len(fields) == 5:
        return {"trigger": "cron", **dict(zip(("minute", "hour", "day", "month", "day_of_week"), fields))}
    raise ConfigError(f"schedule '{text}' is neither a duration like 5m nor a 5-field cron expression")


def schedule_seconds(text: str) -> int | None:
    m = _DURATION.match(str(text))
    if not m:
        return None
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@dataclass(frozen=True)
class Settings:
    path: Path
    store_dir: Path
    memory_limit: str = ""  # DuckDB's own default (80 % of RAM) unless set, e.g. "4GB" on a shared server
    timezone: str = "Asia/Shanghai"
    day_start_minutes: int = 480
    shifts: tuple[Shift, ...] = field(default_factory=default_shifts)  # A, B, C of eight hours from day_start
    shift_days: int = SHIFT_DAYS  # production days of shift snapshots kept (0: no shift grain)
    baseline_from: date | None = None  # None: automatic (see kpis.periods)
    baseline_to: date | None = None
    energy_variant: str = "equivalent"
    carbon_series: str = "national"  # electricity CO2 factors: national, regional_southwest or ets
    natural_gas: str = "oil_field"  # table coefficient for gas without a measured calorific value: or gas_field
    web_host: str = "127.0.0.1"
    web_port: int = 8050
    refresh_s: int = 10
    rotate_s: int = 0
    language: str = "zh"
    admin_from_loopback: bool = True  # false behind a reverse proxy on the same host: then only the token opens /admin
    demo: Mapping[str, Any] = field(default_factory=dict)
    connectors: Mapping[str, ConnectorSpec] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        return self.store_dir / "store.duckdb"

    @property
    def serving_path(self) -> Path:
        return self.store_dir / "serving.duckdb"

    @property
    def requests_dir(self) -> Path:
        return self.store_dir / "requests"


def _date(value: Any, key: str) -> date | None:
    if value in (None, "auto"):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not a date like 2024-01-01") from None


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} = {value!r} must be true or false")
    return value


def _day_start(text: str) -> int:
    m = re.match(r"^(\d{1,2}):(\d{2})$", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ConfigError(f"plant.day_start = {text!r} is not a time like 08:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def _plant_timezone(text: str) -> str:
    """An IANA zone without clock changes: plant time is stored as local wall-clock time (decision 8), where a
    daylight-saving zone would repeat an hour in autumn and skip one in spring."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"plant.timezone = {text!r} is not an IANA time zone like Asia/Shanghai") from None
    offsets = {datetime(year, month, 15, 12, tzinfo=zone).utcoffset()
               for year in range(2015, 2036) for month in (1, 4, 7, 10)}
    if len(offsets) > 1:
        hours = min(o.total_seconds() for o in offsets) / 3600
        fixed = f"Etc/GMT{-hours:+g}" if hours else "UTC"
        raise ConfigError(
            f"plant.timezone = {text!r} changes its clocks (daylight saving): plant time is kept as local wall-clock "
            f"time, where an hour would repeat or go missing. Use its standard time, timezone = {fixed!r}, and "
            f"declare the exports' own zone per connector (timezone = {text!r}), which converts them on load")
    return text


def _shifts(plant: Mapping[str, Any], day_start_minutes: int) -> tuple[Shift, ...]:
    if "shifts" not in plant:
        return default_shifts()
    try:
        return parse_shifts(plant["shifts"], day_start_minutes)
    except ShiftError as exc:
        raise ConfigError(str(exc)) from None


def _shift_days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 400:
        raise ConfigError(f"plant.shift_history_days = {value!r} must be a whole number of days from 0 to 400")
    return value


def _mapping(where: str, mapping: Mapping[str, Any]) -> dict[str, str | tuple[str, ...]]:
    """A source header, or a list of accepted aliases (first match wins)."""
    out: dict[str, str | tuple[str, ...]] = {}
    for key, value in mapping.items():
        if isinstance(value, list):
            if not value or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}.mapping.{key} must be a header or a non-empty list of headers")
            out[key] = tuple(value)
        else:
            out[key] = str(value)
    return out


def _units(where: str, stream: str, declared: Mapping[str, Any]) -> dict[str, str]:
    from connectors.units import UnitError, factor

    for key, unit in declared.items():
        if key not in STREAMS[stream].column_names:
            raise ConfigError(f"{where}.units.{key}: {stream} has no field {key}")
        try:
            factor(stream, key, str(unit))
        except UnitError as exc:
            raise ConfigError(f"{where}.units.{key} = {unit!r}: {exc}") from None
    return {k: str(v) for k, v in declared.items()}


def _connector(name: str, raw: Mapping[str, Any], base: Path, demo: Mapping[str, Any], environ,
               plant_timezone: str = "Asia/Shanghai") -> ConnectorSpec:
    where = f"[connectors.{name}]"
    for key in ("system", "kind", "stream"):
        if key not in raw:
            raise ConfigError(f"{where} lacks '{key}'")
    if raw["stream"] not in STREAMS:
        raise ConfigError(f"{where} stream '{raw['stream']}' is not a canonical table: {', '.join(STREAMS)}")
    mapping = raw.get("mapping", {})
    unknown = set(mapping) - set(STREAMS[raw["stream"]].column_names)
    if unknown:
        raise ConfigError(f"{where}.mapping names fields {sorted(unknown)} that {raw['stream']} does not have")
    one_hot = raw.get("one_hot", {})
    if not isinstance(one_hot, Mapping):
        raise ConfigError(f"{where}.one_hot must hold [connectors.{name}.one_hot.FIELD] tables")
    for key, columns in one_hot.items():
        if key not in STREAMS[raw["stream"]].column_names:
            raise ConfigError(f"{where}.one_hot.{key}: {raw['stream']} has no field {key}")
        if key in mapping or key in raw.get("constants", {}):
            raise ConfigError(f"{where}.one_hot.{key}: the field is also in mapping or constants")
        if not isinstance(columns, Mapping) or not columns or not all(isinstance(v, str) for v in columns.values()):
            raise ConfigError(f"{where}.one_hot.{key} must map each 0/1 source column to the code it stands for")
    schedule = str(raw.get("schedule", "15m"))
    parse_schedule(schedule)
    reserved = {"system", "kind", "stream", "schedule", "mapping", "constants", "max_reject_share", "units"}
    options = {k: resolve_secret(v, environ) for k, v in raw.items() if k not in reserved}
    if raw["kind"] == "mock":
        options = {**demo, **options}
    return ConnectorSpec(
        name=name, system=str(raw["system"]), kind=str(raw["kind"]), stream=str(raw["stream"]),
        schedule=schedule, options=options, mapping=_mapping(where, mapping),
        constants=dict(raw.get("constants", {})), base_dir=base,
        max_reject_share=float(raw.get("max_reject_share", 0.1)),
        units=_units(where, str(raw["stream"]), raw.get("units", {})), plant_timezone=plant_timezone,
        secrets=tuple(environ[n] for n in secret_names(raw) if environ.get(n)),
    )


def load(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the config named by the argument, COCKPIT_CONFIG or ./cockpit.toml."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("COCKPIT_CONFIG") or DEFAULT_PATH).resolve()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found (set COCKPIT_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    base = path.parent
    store = raw.get("store", {})
    plant = raw.get("plant", {})
    periods = raw.get("periods", {})
    web = raw.get("web", {})
    demo = dict(raw.get("demo", {}))
    if "go_live" in demo and demo["go_live"] != "auto":
        demo["go_live"] = _date(demo["go_live"], "demo.go_live")
    store_dir = Path(store.get("path", "var"))
    day_start = _day_start(plant.get("day_start", "08:00"))
    settings = Settings(
        path=path,
        store_dir=store_dir if store_dir.is_absolute() else (base / store_dir).resolve(),
        memory_limit=str(store.get("memory_limit", "")),
        timezone=_plant_timezone(str(plant.get("timezone", "Asia/Shanghai"))),
        day_start_minutes=day_start,
        shifts=_shifts(plant, day_start),
        shift_days=_shift_days(plant.get("shift_history_days", SHIFT_DAYS)),
        baseline_from=_date(periods.get("baseline_from"), "periods.baseline_from"),
        baseline_to=_date(periods.get("baseline_to"), "periods.baseline_to"),
        energy_variant=str(raw.get("energy", {}).get("electricity", "equivalent")),
        carbon_series=str(raw.get("energy", {}).get("carbon_series", "national")),
        natural_gas=str(raw.get("energy", {}).get("natural_gas", "oil_field")),
        web_host=str(web.get("host", "127.0.0.1")),
        web_port=int(web.get("port", 8050)),
        refresh_s=int(web.get("refresh_s", 10)),
        rotate_s=int(web.get("rotate_s", 0)),
        language=str(web.get("language", "zh")),
        admin_from_loopback=_bool(web.get("admin_from_loopback", True), "web.admin_from_loopback"),
        demo=demo,
        connectors={
            name: _connector(name, spec, base, demo, environ, str(plant.get("timezone", "Asia/Shanghai")))
            for name, spec in raw.get("connectors", {}).items()
        },
    )
    if (settings.baseline_from is None) != (settings.baseline_to is None):
        raise ConfigError("periods.baseline_from and periods.baseline_to must be set together")
    from kpis.reference import CARBON_SERIES, GAS_TABLES

    if settings.carbon_series not in CARBON_SERIES:
        raise ConfigError(f"energy.carbon_series must be one of {', '.join(CARBON_SERIES)}")
    if settings.energy_variant not in ("equivalent", "equal_value"):
        raise ConfigError("energy.electricity must be 'equivalent' (当量值) or 'equal_value' (等价值)")
    if settings.natural_gas not in GAS_TABLES:
        raise ConfigError("energy.natural_gas must be 'oil_field' (油田天然气, 1.3300 kgce/m³) or 'gas_field' "
                          "(气田天然气, 1.2143 kgce/m³)")
    return settings


def plant_now(settings: Settings) -> datetime:
    """Naive plant-local wall time, the clock every stored timestamp uses."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None, microsecond=0)
