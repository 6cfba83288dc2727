"""Config: one TOML file, secrets from the environment, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit import config
from cockpit.config import ConfigError, load, parse_schedule, resolve_secret
from connectors import registry
from connectors.base import ConnectorError, ConnectorSpec

ROOT = Path(__file__).parents[1]


def _write(tmp_path, text: str):
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_relative_paths(tmp_path):
    s = load(_write(tmp_path, ""), environ={})
    assert s.store_dir == (tmp_path / "var").resolve()
    assert (s.timezone, s.day_start_minutes, s.web_host, s.web_port) == ("Asia/Shanghai", 480, "127.0.0.1", 8050)


def test_shifts_default_to_three_from_the_day_start_or_follow_the_plant(tmp_path):
    from kpis.shifts import Shift

    s = load(_write(tmp_path, '[plant]\nday_start = "07:00"\n'), environ={})
    assert s.shifts == (Shift("A", 0), Shift("B", 480), Shift("C", 960)) and s.shift_days == 35
    s = load(_write(tmp_path, '[plant]\nday_start = "07:00"\nshift_history_days = 14\n'
                              'shifts = [{code = "白班", start = "07:00"}, {code = "夜班", start = "19:00"}]\n'),
             environ={})
    assert s.shifts == (Shift("白班", 0), Shift("夜班", 720)) and s.shift_days == 14


def test_config_path_from_environment(tmp_path):
    path = _write(tmp_path, '[plant]\nday_start = "07:30"\n')
    assert load(environ={"COCKPIT_CONFIG": str(path)}).day_start_minutes == 450


def test_secret_from_environment_and_unset_is_an_error():
    assert resolve_secret({"env": "MES_TOKEN"}, {"MES_TOKEN": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match="MES_TOKEN is not set"):
        resolve_secret({"env": "MES_TOKEN"}, {})
    with pytest.raises(ConfigError, match="not set"):
        resolve_secret({"env": "MES_TOKEN"}, {"MES_TOKEN": ""})


@pytest.mark.parametrize("text, expected", [
    ("30s", {"trigger": "interval", "seconds": 30}),
    ("5m", {"trigger": "interval", "minutes": 5}),
    ("*/15 6-22 * * mon-fri", {"trigger": "cron", "minute": "*/15", "hour": "6-22", "day": "*", "month": "*",
                               "day_of_week": "mon-fri"}),
])
def test_schedules(text, expected):
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text, message", [
    ('[connectors.x]\nsystem = "mes"\nkind = "csv"\n', "lacks 'stream'"),
    ('[connectors.x]\nsystem = "mes"\nkind = "csv"\nstream = "nope"\n', "not a canonical table"),
    ('[connectors.x]\nsystem = "mes"\nkind = "csv"\nstream = "headcount"\n[connectors.x.mapping]\nfoo = "bar"\n',
     "does not have"),
    ('[connectors.x]\nsystem = "mes"\nkind = "csv"\nstream = "headcount"\nschedule = "often"\n', "schedule"),
    ('[plant]\nday_start = "25:00"\n', "day_start"),
    ('[plant]\nshifts = [{code = "A", start = "09:00"}]\n', "plant.shifts: one shift must start"),
    ('[plant]\nshift_history_days = -1\n', "shift_history_days"),
    ('[plant]\ntimezone = "Asia/Chongqin"\n', "plant.timezone = 'Asia/Chongqin' is not an IANA time zone"),
    ('[plant]\ntimezone = "Europe/Berlin"\n', "changes its clocks .* timezone = 'Etc/GMT-1'"),
    ('[periods]\nbaseline_from = "2024-01-01"\n', "together"),
    ("not toml [", "cockpit.toml"),
])
def test_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load(_write(tmp_path, text), environ={})


def test_secret_values_reach_options_but_not_repr(tmp_path):
    path = _write(tmp_path, '[connectors.x]\nsystem = "mes"\nkind = "csv"\nstream = "headcount"\n'
                            'token = { env = "MES_TOKEN" }\n')
    s = load(path, environ={"MES_TOKEN": "s3cret"})
    assert s.connectors["x"].options["token"] == "s3cret"
    assert "s3cret" not in repr(s.connectors["x"]) and "s3cret" not in repr(s)


SHIPPED = sorted([ROOT / "cockpit.toml", *ROOT.glob("examples/**/*.toml")])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_connector_uses_only_options_its_kind_knows(path):
    settings = config.load(path, environ={"MES_TOKEN": "x", "ERP_TOKEN": "x"})
    for spec in settings.connectors.values():
        registry.create(spec)  # raises on an unknown option


@pytest.mark.parametrize("kind, options, expected", [
    ("csv", {"path": "a.csv", "dayfrist": True}, "unknown csv option 'dayfrist' (did you mean 'dayfirst'?)"),
    ("csv", {"path": "a.csv", "colour": "red", "encodign": "gbk"},
     "unknown csv options 'colour', 'encodign' (did you mean 'encoding'?); csv options: allow_empty, allow_shrink"),
    ("excel", {"path": "a.xlsx", "delimiter": ","}, "unknown excel option 'delimiter';"),
    ("mock", {"seed": 1, "sede": 2}, "unknown mock option 'sede' (did you mean 'seed'?)"),
])
def test_an_unknown_option_fails_naming_it_and_the_close_match(kind, options, expected):
    spec = ConnectorSpec(name="x", system="mes", kind=kind, stream="production_record", options=options)
    with pytest.raises(ConnectorError) as info:
        registry.create(spec)
    assert expected in str(info.value)
    assert str(info.value).startswith("connector 'x': ")


def test_options_every_kind_shares_are_accepted_by_each_kind():
    for kind in registry.kinds():
        required = {"csv": {"path": "a.csv"}, "excel": {"path": "a.xlsx"}, "rest": {"url": "http://127.0.0.1/"}}
        spec = ConnectorSpec(name="x", system="mes", kind=kind, stream="production_record",
                             options={**required.get(kind, {}), "dayfirst": True, "timezone": "UTC"})
        registry.create(spec)
