"""cockpit.config_edit: an admin edit keeps the rest of the file, keeps a backup and never writes a secret."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from cockpit import config
from cockpit.config_edit import ConfigEditError, ConnectorForm, connector_form, file_hash, save_connector

ROOT = Path(__file__).parents[1]
SECRET = "tok-3f9a1c77e2b845d0"
ENV = {"MES_TOKEN": SECRET}
NOW = datetime(2025, 2, 10, 12, 0, 0)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """The shipped, commented cockpit.toml, plus one connector that names a secret."""
    text = (ROOT / "cockpit.toml").read_text(encoding="utf-8").replace('"sample_data/', f'"{ROOT}/sample_data/')
    text += ('\n# The MES export share, read with a service account.\n[connectors.mes_share]\nsystem = "mes"\n'
             'kind = "rest"\nstream = "labor_time"\nurl = "https://mes.example.internal/api/labor"  # nightly\n'
             'token = { env = "MES_TOKEN" }\nschedule = "1h"\n')
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if "#" in line]


def _form(**changes) -> ConnectorForm:
    base = {"name": "mes_share", "system": "mes", "kind": "rest", "stream": "labor_time", "schedule": "1h",
            "options_text": 'url = "https://mes.example.internal/api/labor"\ntoken = { env = "MES_TOKEN" }\n'}
    return ConnectorForm(**{**base, **changes})


def test_edit_keeps_comments_writes_a_backup_and_loads(cfg):
    before = cfg.read_text(encoding="utf-8")
    result = save_connector(cfg, _form(schedule="10m", mapping_text='worker_h = "工时"\n'), create=False,
                            environ=ENV, now=NOW)
    after = cfg.read_text(encoding="utf-8")
    assert result.backup == cfg.with_name("cockpit.toml.bak-20250210-120000")
    assert result.backup.read_text(encoding="utf-8") == before
    assert _comments(after) == _comments(before)  # every comment, including the edited table's own
    spec = config.load(cfg, environ=ENV).connectors["mes_share"]
    assert (spec.schedule, dict(spec.mapping)) == ("10m", {"worker_h": "工时"})
    assert after.replace('schedule = "10m"', 'schedule = "1h"').startswith(before.rstrip("\n"))
    assert SECRET not in after
    assert not list(cfg.parent.glob(".*candidate*"))


def test_add_a_connector_with_a_secret_reference(cfg):
    form = ConnectorForm(name="erp_api", system="erp", kind="rest", stream="headcount", schedule="1d",
                         max_reject_share=0.05,
                         options_text='url = "https://erp.example.internal/hc"\ntoken = { env = "MES_TOKEN" }\n',
                         mapping_text='unit_id = ["单位", "部门"]\nmonth_on = "月份"\navg_employees = "平均人数"\n')
    result = save_connector(cfg, form, create=True, environ=ENV, now=NOW)
    text = cfg.read_text(encoding="utf-8")
    assert result.created and "[connectors.erp_api]" in text and "[connectors.erp_api.mapping]" in text
    assert 'token = {env = "MES_TOKEN"}' in text and SECRET not in text
    spec = config.load(cfg, environ=ENV).connectors["erp_api"]
    assert spec.options["token"] == SECRET and spec.max_reject_share == 0.05
    with pytest.raises(ConfigEditError, match="already exists"):
        save_connector(cfg, form, create=True, environ=ENV, now=NOW)


@pytest.mark.parametrize("changes, message", [
    ({"stream": "nope"}, "not a canonical table"),
    ({"schedule": "every morning"}, "schedule 'every morning'"),
    ({"kind": "ftp"}, "not a connector kind"),
    ({"mapping_text": 'no_such_field = "x"\n'}, "does not have"),
    ({"mapping_text": "worker_h = \n"}, "mapping"),
    ({"name": "bad name!"}, "letters, digits"),
    ({"options_text": f'url = "https://x.example/"\ntoken = "{SECRET}"\n'}, "looks like a secret"),
    ({"options_text": f'url = "{SECRET}"\n'}, "holds the value of a secret"),
    ({"options_text": 'url = "https://x.example/"\ntoken = { env = "UNSET_TOKEN" }\n'}, "UNSET_TOKEN is not set"),
    ({"options_text": 'url = "https://x.example/"\nschedule = "5m"\n'}, "own fields"),
])
def test_an_invalid_candidate_leaves_the_file_alone(cfg, changes, message):
    before = cfg.read_bytes()
    with pytest.raises(ConfigEditError, match=message) as err:
        save_connector(cfg, _form(**changes), create=False, environ=ENV, now=NOW)
    assert SECRET not in str(err.value)
    assert cfg.read_bytes() == before
    assert not list(cfg.parent.glob("cockpit.toml.bak-*")) and not list(cfg.parent.glob(".*candidate*"))


def test_a_stale_form_is_refused(cfg):
    opened = file_hash(cfg)
    save_connector(cfg, _form(schedule="5m"), create=False, environ=ENV, expected_hash=opened, now=NOW)
    with pytest.raises(ConfigEditError, match="changed since"):
        save_connector(cfg, _form(schedule="2h"), create=False, environ=ENV, expected_hash=opened, now=NOW)


def test_two_saves_in_one_second_keep_both_previous_versions(cfg):
    save_connector(cfg, _form(schedule="5m"), create=False, environ=ENV, now=NOW)
    save_connector(cfg, _form(schedule="2h"), create=False, environ=ENV, now=NOW)
    assert len(list(cfg.parent.glob("cockpit.toml.bak-*"))) == 2


def test_the_form_shows_references_never_values(cfg):
    form = connector_form(cfg, "mes_share")
    assert 'token = {env = "MES_TOKEN"}' in form.options_text
    assert SECRET not in repr(form)
    assert (form.kind, form.stream, form.schedule) == ("rest", "labor_time", "1h")


def test_a_mistyped_option_is_refused_with_the_close_match(cfg):
    before = cfg.read_bytes()
    with pytest.raises(ConfigEditError, match="unknown rest option 'paginater' \\(did you mean 'paginator'\\?\\)"):
        save_connector(cfg, _form(options_text='url = "https://x.example/"\npaginater = "offset"\n'),
                       create=False, environ=ENV, now=NOW)
    assert cfg.read_bytes() == before
