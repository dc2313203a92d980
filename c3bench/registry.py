"""One generic registry for every kind of named thing: methods, protocols, backbones, datasets,
configurations and simulated-time schedules (after lm-evaluation-harness's ``lm_eval/api/registry.py``).

An entry is an object or a lazy ``"module:attr"`` string, imported the first time it is used, so
listing names, ``--help`` and reading records import no method code. Registering a name twice for
different targets is an error (the same target twice is not). A miss says "did you mean".

Every kind is filled by one rule, on first use: its **built-ins**, from a ``"module:function"`` that
returns ``{name: target}`` (named here as text, so this module imports none of them), then the
**entry points** of its group, ``c3bench.<kind>s``. A built-in's name wins: a plug-in that takes one
is ignored with a warning. Third-party packages add theirs without touching c3bench::

    [project.entry-points."c3bench.methods"]
    mymethod = "my_package.my_method:MyMethod"

:meth:`Registry.origin` says which distribution (and version) provides a name; a record keeps it for
its method. An entry that cannot be imported raises :class:`ConfigError` naming it and its provider.
"""

from __future__ import annotations

import ast
import importlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

from c3bench.hparams import ConfigError, HParamSpace, did_you_mean

T = TypeVar("T")


def target_name(obj: Any) -> str:
    """``"module:qualname"`` of an object, the form lazy entries take."""
    return f"{obj.__module__}:{obj.__qualname__}"


class Registry(Generic[T]):
    """Names -> objects of one kind, some of them lazy ``"module:attr"`` strings.

    ``builtins``: ``"module:function"`` giving the built-in ``{name: target}``; ``group``: the entry-point
    group of plug-ins; ``base``: ``"module:Class"`` every entry must subclass (checked on load).
    """

    def __init__(self, kind: str, builtins: str | None = None, group: str | None = None, base: str | None = None):
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._base = base
        self._entries: dict[str, T | str] = {}
        self._origins: dict[str, dict[str, Any]] = {}
        self._discovered = builtins is None and group is None

    def _ensure(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        if self._builtins is not None:
            for name, target in _load(self._builtins)().items():
                self.register(name, target)
                self._origins[name] = {"distribution": "c3bench", "builtin": True}
        for ep in entry_points(group=self.group) if self.group else ():
            try:
                self.register(ep.name, ep.value)
            except ValueError as exc:  # a plug-in must not take a built-in's name, nor break the others
                warnings.warn(f"ignoring {self.group} entry point '{ep.name}': {exc}", stacklevel=2)
                continue
            dist = getattr(ep, "dist", None)
            self._origins.setdefault(ep.name, {"distribution": dist.name if dist else None,
                                               "version": dist.version if dist else None,
                                               "entry_point": ep.value})

    def origin(self, name: str) -> dict[str, Any]:
        """Where ``name`` comes from: ``{"distribution": "c3bench", "builtin": True}``, a plug-in's
        distribution, version and entry point, or the module of an object registered at run time."""
        self._ensure()
        if name in self._origins:
            return dict(self._origins[name])
        entry = self._entries.get(name)
        module = entry.partition(":")[0] if isinstance(entry, str) else getattr(entry, "__module__", None)
        return {"distribution": None, "module": module}

    def register(self, name: str, target: T | str) -> None:
        """Add ``name``; a second registration must name the same target."""
        self._ensure()
        existing = self._entries.get(name)
        if existing is not None and not self._same(existing, target):
            raise ValueError(f"{self.kind} '{name}' is already registered for {self._describe(existing)}; "
                             f"refusing {self._describe(target)}")
        if isinstance(target, str):
            if ":" not in target:
                raise ValueError(f"lazy {self.kind} entry must be 'module:attr', got {target!r}")
            if existing is None or isinstance(existing, str):
                self._entries[name] = target
        else:
            self._check(target)
            self._entries[name] = target

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and plug-ins that clean up after themselves)."""
        self._ensure()
        self._entries.pop(name, None)

    @contextmanager
    def patched(self, name: str, target: T) -> Iterator[None]:
        """Within the block ``name`` is ``target`` (for tests); the previous entry comes back after."""
        self._ensure()
        missing = object()
        previous = self._entries.get(name, missing)
        self._entries[name] = target
        try:
            yield
        finally:
            if previous is missing:
                self._entries.pop(name, None)
            else:
                self._entries[name] = previous  # type: ignore[assignment]

    def decorator(self, key: Callable[[Any], str]) -> Callable[[T], T]:
        """A decorator registering its argument under ``key(obj)``."""
        def register(obj: T) -> T:
            self.register(key(obj), obj)
            return obj
        return register

    @staticmethod
    def _describe(target: Any) -> str:
        return target if isinstance(target, str) else target_name(target) if hasattr(target, "__qualname__") else repr(target)

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        if a is b:
            return True
        names = [x if isinstance(x, str) else target_name(x) if hasattr(x, "__qualname__") else None for x in (a, b)]
        return names[0] is not None and names[0] == names[1]

    def _check(self, obj: Any) -> None:
        if self._base is not None:
            check_declaration(obj, _load(self._base))

    def names(self) -> list[str]:
        """Registered names, sorted; imports nothing."""
        self._ensure()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def get(self, name: str) -> T:
        """The object for ``name`` (imported on first use); ConfigError with a did-you-mean on a miss."""
        self._ensure()
        if name not in self._entries:
            known = self.names()
            raise ConfigError(f"unknown {self.kind} '{name}'.{did_you_mean(name, known)} "
                              f"Available: {', '.join(known) or '(none)'}.")
        entry = self._entries[name]
        if isinstance(entry, str):
            provider = self._origins.get(name, {}).get("distribution") or "its package"
            try:
                obj = _load(entry)
                self._check(obj)
            except (ImportError, AttributeError, TypeError, SyntaxError) as exc:
                raise ConfigError(f"{self.kind} '{name}' ({entry}, from {provider}) cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}. Reinstall or remove the package that provides "
                                  "it.") from None
            self._entries[name] = entry = obj
        return entry  # type: ignore[return-value]

    def items(self) -> dict[str, T]:
        """Every entry, resolved (imports what is lazy)."""
        return {name: self.get(name) for name in self.names()}


# ------------------------------------------------------------------------------------------ discovery
def _load(target: str) -> Any:
    """The object a ``"module:attr"`` string names (imported now)."""
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def declared_classes(package: str, paths: Iterable[str], decorator: str) -> dict[str, str]:
    """``{registered name: "package.file:Class"}`` for each class of the package's files decorated with
    ``decorator`` and naming itself ``name = "..."``, read from the source without importing it (how the
    built-in methods and protocols are listed)."""
    out = {}
    for folder in map(Path, paths):
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            for name, cls in _declared_names(path, decorator):
                out[name] = f"{package}.{path.stem}:{cls}"
    return out


def _declared_names(path: Path, decorator: str) -> list[tuple[str, str]]:
    """(registered name, class name) of each class in ``path`` decorated with ``decorator``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        decorated = any((isinstance(d, ast.Name) and d.id == decorator) or
                        (isinstance(d, ast.Attribute) and d.attr == decorator) for d in node.decorator_list)
        if not decorated:
            continue
        for stmt in node.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
            value = getattr(stmt, "value", None)
            if (any(isinstance(t, ast.Name) and t.id == "name" for t in targets)
                    and isinstance(value, ast.Constant) and isinstance(value.value, str)):
                out.append((value.value, node.name))
    return out


def check_declaration(cls: Any, base: type) -> None:
    """A method or protocol class: a subclass of ``base`` with a name, a description and distinct
    hyperparameter names."""
    if not isinstance(cls, type) or not issubclass(cls, base):
        raise TypeError(f"{cls!r} is not a {base.__name__} subclass")
    for attr in ("name", "description"):
        if not getattr(cls, attr, None):
            raise TypeError(f"{cls.__name__} must declare a non-empty '{attr}'")
    names = [p.name for p in cls.hparams]
    if len(names) != len(set(names)):
        raise TypeError(f"{cls.__name__} declares a hyperparameter twice")


def _kind(kind: str, builtins: str, base: str | None = None) -> Registry[Any]:
    return Registry(kind, builtins=builtins, group=f"c3bench.{kind}s", base=base)


METHODS: Registry[Any] = _kind("method", "c3bench.methods:builtins", base="c3bench.method:Method")
PROTOCOLS: Registry[Any] = _kind("protocol", "c3bench.protocols:builtins", base="c3bench.protocol:Protocol")
BACKBONES: Registry[Callable[..., Any]] = _kind("backbone", "c3bench.models:builtins")
DATASETS: Registry[Any] = _kind("dataset", "c3bench.data.datasets:builtins")
CONFIGS: Registry[Any] = _kind("config", "c3bench.configs:builtins")
SCHEDULES: Registry[Any] = _kind("schedule", "c3bench.accounting.simtime:builtins")
KINDS = {r.kind: r for r in (METHODS, PROTOCOLS, BACKBONES, DATASETS, CONFIGS, SCHEDULES)}

register_method = METHODS.decorator(lambda cls: cls.name)
register_method.__doc__ = "Class decorator: make a method available under ``cls.name``."
register_protocol = PROTOCOLS.decorator(lambda cls: cls.name)
register_protocol.__doc__ = "Class decorator: make a protocol available under ``cls.name``."


# ------------------------------------------------------------------------------------------ shorthands
def get_method(name: str) -> Any:
    return METHODS.get(name)


def get_protocol(name: str) -> Any:
    return PROTOCOLS.get(name)


def methods() -> dict[str, Any]:
    return METHODS.items()


def protocols() -> dict[str, Any]:
    return PROTOCOLS.items()


def space(cls: Any) -> HParamSpace:
    """The typed hyperparameters a method or protocol class declares."""
    return HParamSpace(tuple(cls.hparams))


def declared_by(key: str, exclude: str | None = None) -> str:
    """" 'mu' is a hyperparameter of fedprox and scaffold, not of fedavg." for a key that registered
    methods other than ``exclude`` declare, else ''."""
    owners = []
    for name in METHODS.names():
        if name == exclude:
            continue
        try:
            if space(get_method(name)).get(key) is not None:
                owners.append(name)
        except ConfigError:  # a plug-in that does not load
            continue
    if not owners:
        return ""
    listed = owners[0] if len(owners) == 1 else ", ".join(owners[:-1]) + f" and {owners[-1]}"
    return f" '{key}' is a hyperparameter of {listed}" + (f", not of {exclude}." if exclude else ".")
