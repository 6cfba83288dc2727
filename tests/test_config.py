"""Config: one TOML file, secrets from the environment, errors that name the key."""

from __future__ import annotations

import pytest

from cockpit.config import ConfigError, load, parse_schedule, resolve_secret


def _write(tmp_path, text: str):
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_relative_paths(tmp_path):
    s = load(_write(tmp_path, ""), environ={})
    assert s.store_dir == (tmp_path / "var").resolve()
    assert (s.timezone, s.day_start_minutes, s.web_host, s.web_port) == ("Asia/Shanghai", 480, "127.0.0.1", 8050)


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
