"""Names -> methods and protocols: the built-in folders plus third-party entry points.

Built-ins are the modules of ``c3bench.methods`` and ``c3bench.protocols`` (the top-level
``methods/`` and ``protocols/`` folders); each file registers its class with ``@register_method`` or
``@register_protocol``. Third-party packages expose a class in the entry-point groups
``c3bench.methods`` / ``c3bench.protocols``:

    [project.entry-points."c3bench.methods"]
    mymethod = "my_package.my_method:MyMethod"
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from importlib.metadata import entry_points
from typing import TypeVar

from c3bench.hparams import ConfigError, HParamSpace, did_you_mean
from c3bench.method import Method
from c3bench.protocol import Protocol

_METHODS: dict[str, type[Method]] = {}
_PROTOCOLS: dict[str, type[Protocol]] = {}
_loaded = False

M = TypeVar("M", bound=type[Method])
P = TypeVar("P", bound=type[Protocol])


def _check_declaration(cls: type, base: type) -> None:
    if not isinstance(cls, type) or not issubclass(cls, base):
        raise TypeError(f"{cls!r} is not a {base.__name__} subclass")
    for attr in ("name", "description"):
        if not getattr(cls, attr, None):
            raise TypeError(f"{cls.__name__} must declare a non-empty '{attr}'")
    names = [p.name for p in cls.hparams]
    if len(names) != len(set(names)):
        raise TypeError(f"{cls.__name__} declares a hyperparameter twice")


def register_method(cls: M) -> M:
    """Class decorator: make a method available under ``cls.name``."""
    _check_declaration(cls, Method)
    existing = _METHODS.get(cls.name)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"method name '{cls.name}' is already registered by {existing.__module__}")
    _METHODS[cls.name] = cls
    return cls


def register_protocol(cls: P) -> P:
    """Class decorator: make a protocol available under ``cls.name``."""
    _check_declaration(cls, Protocol)
    existing = _PROTOCOLS.get(cls.name)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"protocol name '{cls.name}' is already registered by {existing.__module__}")
    _PROTOCOLS[cls.name] = cls
    return cls


def _import_package_modules(package: str) -> None:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def _load_entry_points(group: str, register) -> None:
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plug-in must not break the built-ins
            warnings.warn(f"could not load {group} entry point '{ep.name}': {exc}", stacklevel=2)
            continue
        if isinstance(obj, type):
            register(obj)


def load_all() -> None:
    """Import built-ins and entry points once."""
    global _loaded
    if _loaded:
        return
    _import_package_modules("c3bench.methods")
    _import_package_modules("c3bench.protocols")
    _load_entry_points("c3bench.methods", register_method)
    _load_entry_points("c3bench.protocols", register_protocol)
    _loaded = True


def methods() -> dict[str, type[Method]]:
    load_all()
    return dict(sorted(_METHODS.items()))


def protocols() -> dict[str, type[Protocol]]:
    load_all()
    return dict(sorted(_PROTOCOLS.items()))


def get_method(name: str) -> type[Method]:
    table = methods()
    if name not in table:
        raise ConfigError(f"unknown method '{name}'.{did_you_mean(name, table)} Available: {', '.join(table)}.")
    return table[name]


def get_protocol(name: str) -> type[Protocol]:
    table = protocols()
    if name not in table:
        raise ConfigError(f"unknown protocol '{name}'.{did_you_mean(name, table)} Available: {', '.join(table)}.")
    return table[name]


def space(cls: type[Method] | type[Protocol]) -> HParamSpace:
    return HParamSpace(tuple(cls.hparams))
