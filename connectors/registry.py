"""Connector kinds by name: adding a kind is one class with a `kind` attribute, registered here."""

from __future__ import annotations

import difflib

from connectors.base import SHARED_OPTIONS, Connector, ConnectorError, ConnectorSpec

KINDS: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    if not getattr(cls, "kind", None):
        raise TypeError(f"{cls.__name__} declares no kind")
    KINDS[cls.kind] = cls
    return cls


def _load_builtin_kinds() -> None:
    """Import every module of connectors/kinds for its @register side effect: a new kind is one new file."""
    import importlib
    import pkgutil

    import connectors.kinds as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def create(spec: ConnectorSpec) -> Connector:
    _load_builtin_kinds()
    try:
        cls = KINDS[spec.kind]
    except KeyError:
        raise ConnectorError(
            f"connector '{spec.name}': unknown kind '{spec.kind}'; known kinds: {', '.join(sorted(KINDS))}"
        ) from None
    _check_options(spec, cls)
    return cls(spec)


def _check_options(spec: ConnectorSpec, cls: type[Connector]) -> None:
    """An option the kind does not know is a typo until proven otherwise (`dayfrist` silently did nothing)."""
    known = cls.options | SHARED_OPTIONS
    unknown = sorted(set(spec.options) - known)
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
        hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise ConnectorError(f"connector '{spec.name}': unknown {spec.kind} option{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(hints)}; {spec.kind} options: {', '.join(sorted(known))}")


def kinds() -> dict[str, type[Connector]]:
    _load_builtin_kinds()
    return dict(KINDS)
