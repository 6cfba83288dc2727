"""Edit one `[connectors.NAME]` table of the TOML config safely: validate first, keep a backup, swap atomically.

The admin page is the only writer of this file besides a human with an editor, so an edit must
never leave a config the scheduler refuses (it would keep running the old one and log an error
nobody reads): the candidate is written next to the real file and loaded with cockpit.config.load
in the real environment before it replaces anything. tomlkit keeps the comments and layout of
everything the edit does not touch. Secrets stay references (`{ env = "NAME" }`): a literal value
under a secret-looking key, or a literal equal to a secret the file references, is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import tomlkit
from filelock import FileLock
from tomlkit.items import Table

from cockpit import config as config_mod
from cockpit.config import is_secret_ref, secret_names

RESERVED = ("system", "kind", "stream", "schedule", "max_reject_share")
SUBTABLES = ("mapping", "constants")
SYSTEMS = ("master", "mes", "erp", "wms", "ems", "qms", "scm", "crm")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# "auth" is not on the list: auth_header = "Authorization" names a header, not a secret.
_SECRET_WORDS = ("token", "password", "passwd", "secret", "apikey", "api_key", "credential", "private_key")


class ConfigEditError(Exception):
    """The edit was refused; the file is unchanged and the message says why (never with a secret value)."""


@dataclass
class ConnectorForm:
    """What the edit form holds. Options, mapping and constants are TOML `key = value` lines."""

    name: str
    system: str
    kind: str
    stream: str
    schedule: str = "15m"
    max_reject_share: float | None = None
    options_text: str = ""
    mapping_text: str = ""
    constants_text: str = ""


@dataclass
class SaveResult:
    path: Path
    backup: Path | None
    created: bool


# --- reading ------------------------------------------------------------------------------------

def read_raw(path: Path) -> dict:
    """The config as written (secret references unresolved); no environment needed."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigEditError(f"{Path(path).name}: {exc}") from None


def file_hash(path: Path) -> str:
    """Identifies the version a form was opened on, so a save never silently overwrites a newer edit."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return ""


def looks_secret(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return any(word in k for word in _SECRET_WORDS)


def secret_is_set(name: str, environ: Mapping[str, str]) -> bool:
    return bool(environ.get(name))


def secret_values(raw: Mapping, environ: Mapping[str, str]) -> list[str]:
    """The values of every secret the config references: what output must be scrubbed of."""
    names = secret_names(raw.get("connectors", {}))
    values = {environ[n] for n in names if environ.get(n)}
    token = environ.get("COCKPIT_ADMIN_TOKEN")
    if token:
        values.add(token)
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    """Last line of defence for messages from connectors (a URL with a token in it, say)."""
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


def _inline(value: Any):
    """A TOML value for one line: tables become inline tables, recursively."""
    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _inline(v)
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_inline(v) for v in value)
        return array
    return value


def _lines(values: Mapping[str, Any]) -> str:
    doc = tomlkit.document()
    for key, value in values.items():
        doc[key] = _inline(value)
    return tomlkit.dumps(doc)


def connector_form(path: Path, name: str) -> ConnectorForm:
    """The form for an existing connector, as written in the file (so secrets are only references)."""
    raw = read_raw(path).get("connectors", {}).get(name)
    if raw is None:
        raise ConfigEditError(f"no connector '{name}' in {Path(path).name}")
    options = {k: v for k, v in raw.items() if k not in RESERVED and k not in SUBTABLES}
    share = raw.get("max_reject_share")
    return ConnectorForm(
        name=name, system=str(raw.get("system", "")), kind=str(raw.get("kind", "")),
        stream=str(raw.get("stream", "")), schedule=str(raw.get("schedule", "15m")),
        max_reject_share=None if share is None else float(share), options_text=_lines(options),
        mapping_text=_lines(raw.get("mapping", {})), constants_text=_lines(raw.get("constants", {})),
    )


# --- validating ---------------------------------------------------------------------------------

def _parse_lines(text: str, what: str) -> dict:
    try:
        return tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigEditError(f"{what}: {exc}; write one `key = value` per line, text in quotes") from None


def _check_secrets(values: Mapping, known_secrets: list[str], where: str) -> None:
    for key, value in values.items():
        if is_secret_ref(value):
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(value["env"])):
                raise ConfigEditError(f"{where}.{key}: '{value['env']}' is not an environment variable name")
            continue
        if isinstance(value, Mapping):
            _check_secrets(value, known_secrets, f"{where}.{key}")
            continue
        if looks_secret(key) and isinstance(value, str) and value:
            raise ConfigEditError(f"{where}.{key} looks like a secret: name the environment variable that holds "
                                  f'it, e.g. {key} = {{ env = "MES_TOKEN" }}, never the value itself')
        if isinstance(value, str) and value and value in known_secrets:
            raise ConfigEditError(f"{where}.{key} holds the value of a secret: use {{ env = \"NAME\" }} instead")


def form_table(form: ConnectorForm, known_secrets: list[str]) -> dict:
    """The `[connectors.NAME]` content a form stands for, checked for what config.load does not check."""
    from connectors import registry

    if not _NAME.match(form.name or ""):
        raise ConfigEditError(f"name '{form.name}': letters, digits, _ and -, starting with a letter")
    kinds = registry.kinds()
    if form.kind not in kinds:
        raise ConfigEditError(f"kind '{form.kind}' is not a connector kind: {', '.join(sorted(kinds))}")
    if not form.system:
        raise ConfigEditError("system is required (master, mes, erp, wms, ems …)")
    where = f"connectors.{form.name}"
    options = _parse_lines(form.options_text, "options")
    clash = sorted(set(options) & set(RESERVED + SUBTABLES))
    if clash:
        raise ConfigEditError(f"options: {', '.join(clash)} have their own fields in the form")
    _check_secrets(options, known_secrets, where)
    mapping = _parse_lines(form.mapping_text, "mapping")
    bad = [k for k, v in mapping.items()
           if not (isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v)))]
    if bad:
        raise ConfigEditError(f"mapping: {', '.join(bad)} must name a source column in quotes "
                              f'(or a list of accepted aliases, ["产量", "生产数量"])')
    constants = _parse_lines(form.constants_text, "constants")
    _check_secrets(constants, known_secrets, f"{where}.constants")
    table: dict[str, Any] = {"system": form.system.strip(), "kind": form.kind, "stream": form.stream,
                             "schedule": (form.schedule or "15m").strip()}
    if form.max_reject_share is not None:
        share = float(form.max_reject_share)
        if not 0 <= share <= 1:
            raise ConfigEditError("max_reject_share is a share between 0 and 1 (0.1 = 10 %)")
        table["max_reject_share"] = share
    table.update(options)
    if mapping:
        table["mapping"] = mapping
    if constants:
        table["constants"] = constants
    return table


# --- writing ------------------------------------------------------------------------------------

def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _reconcile(table: Table, values: Mapping[str, Any]) -> None:
    """Change only what differs, so comments on untouched lines stay where they were."""
    for key in [k for k in table if k not in values]:
        del table[key]
    for key, value in values.items():
        existing = table.get(key)
        if isinstance(value, Mapping) and not is_secret_ref(value) and (
                key in SUBTABLES or isinstance(existing, Table)):  # e.g. [connectors.x.units] stays a table
            sub = existing
            if not isinstance(sub, Table):
                if key in table:
                    del table[key]
                sub = tomlkit.table()
                table[key] = sub
            _reconcile(sub, value)
        elif key not in table or _plain(table[key]) != value:
            table[key] = _inline(value)


def apply_form(text: str, form: ConnectorForm, create: bool, known_secrets: list[str]) -> str:
    """The new file text: the original with one connector table added or changed."""
    values = form_table(form, known_secrets)
    doc = tomlkit.parse(text)
    if "connectors" not in doc:
        doc["connectors"] = tomlkit.table(is_super_table=True)
    connectors = doc["connectors"]
    exists = form.name in connectors
    if create and exists:
        raise ConfigEditError(f"a connector named '{form.name}' already exists")
    if not create and not exists:
        raise ConfigEditError(f"no connector '{form.name}' to edit (was it renamed or removed meanwhile?)")
    if exists:
        _reconcile(connectors[form.name], values)
    else:
        table = tomlkit.table()
        _reconcile(table, values)
        connectors[form.name] = table
    return tomlkit.dumps(doc)


def _backup_path(path: Path, now: datetime) -> Path:
    base = path.with_name(f"{path.name}.bak-{now:%Y%m%d-%H%M%S}")
    candidate, n = base, 1
    while candidate.exists():  # two saves within one second keep both previous versions
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def save_connector(path: Path, form: ConnectorForm, *, create: bool, environ: Mapping[str, str] | None = None,
                   expected_hash: str | None = None, now: datetime | None = None) -> SaveResult:
    """Validate the edited config as the scheduler will load it, back up the old file, swap in the new one."""
    path = Path(path).resolve()
    environ = os.environ if environ is None else environ
    with FileLock(str(path.with_name(f".{path.name}.lock")), timeout=10):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if expected_hash is not None and expected_hash != file_hash(path):
            raise ConfigEditError(f"{path.name} changed since this form was opened; reload and edit again")
        secrets = secret_values(read_raw(path), environ)
        new_text = apply_form(text, form, create, secrets)
        candidate = path.with_name(f".{path.name}.candidate-{os.getpid()}.toml")
        candidate.write_text(new_text, encoding="utf-8")
        try:
            try:
                settings = config_mod.load(candidate, environ=environ)
                _check_connector(settings.connectors[form.name])
            except config_mod.ConfigError as exc:
                raise ConfigEditError(redact(str(exc).replace(str(candidate), path.name), secrets)) from None
            if path.exists():
                os.chmod(candidate, path.stat().st_mode & 0o777)
                backup = _backup_path(path, now or datetime.now())
                shutil.copy2(path, backup)
            else:
                backup = None
            os.replace(candidate, path)  # the scheduler sees either the old file or the new one, never half
        finally:
            candidate.unlink(missing_ok=True)
    return SaveResult(path, backup, create)


def _check_connector(spec) -> None:
    """Let the kind reject its options now (unknown option, no url) rather than at the next scheduled run."""
    from connectors import registry
    from connectors.base import ConnectorError

    try:
        registry.create(spec)
    except ConnectorError as exc:
        raise config_mod.ConfigError(str(exc)) from None


def backups(path: Path) -> list[Path]:
    """Previous versions, newest first."""
    path = Path(path)
    return sorted(path.parent.glob(f"{path.name}.bak-*"), reverse=True)
