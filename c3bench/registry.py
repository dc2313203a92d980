"""One generic registry for every kind of named thing: methods, protocols, backbones, datasets,
configurations and simulated-time schedules (after lm-evaluation-harness's ``lm_eval/api/registry.py``).

An entry is an object or a lazy ``"module:attr"`` string, imported the first time it is used, so
listing names, ``--help`` and reading records import no method code. Registering a name twice for
different targets is an error (the same target twice is not). A miss says "did you mean".

Built-in methods and protocols are the files of ``c3bench.methods`` / ``c3bench.protocols`` (the
top-level ``methods/`` and ``protocols/`` folders): their names are read from the source (the
``name = "..."`` of each class decorated with ``@register_method`` / ``@register_protocol``) without
importing them. Third-party packages add theirs through entry points, also lazily::

    [project.entry-points."c3bench.methods"]
    mymethod = "my_package.my_method:MyMethod"
"""

from __future__ import annotations

import ast
import importlib
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from c3bench.hparams import ConfigError, HParamSpace, did_you_mean

if TYPE_CHECKING:
    from c3bench.method import Method
    from c3bench.protocol import Protocol

T = TypeVar("T")
_PACKAGE = Path(__file__).resolve().parent


def target_name(obj: Any) -> str:
    """``"module:qualname"`` of an object, the form lazy entries take."""
    return f"{obj.__module__}:{obj.__qualname__}"


class Registry(Generic[T]):
    """Names -> objects of one kind, some of them lazy ``"module:attr"`` strings."""

    def __init__(self, kind: str, check: Callable[[Any], None] | None = None,
                 discover: Callable[[Registry[T]], None] | None = None):
        self.kind = kind
        self._check = check
        self._discover = discover
        self._entries: dict[str, T | str] = {}
        self._discovered = discover is None

    def _ensure(self) -> None:
        if not self._discovered:
            self._discovered = True
            self._discover(self)

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
            if self._check is not None:
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
            module, _, attr = entry.partition(":")
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            if self._check is not None:
                self._check(obj)
            self._entries[name] = entry = obj
        return entry  # type: ignore[return-value]

    def items(self) -> dict[str, T]:
        """Every entry, resolved (imports what is lazy)."""
        return {name: self.get(name) for name in self.names()}


# ------------------------------------------------------------------------------------------ discovery
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


def _builtins_and_plugins(package: str, decorator: str, group: str) -> Callable[[Registry], None]:
    def discover(registry: Registry) -> None:
        module = importlib.import_module(package)
        for folder in map(Path, module.__path__):
            for path in sorted(folder.glob("*.py")):
                if path.name.startswith("_"):
                    continue
                for name, cls in _declared_names(path, decorator):
                    registry.register(name, f"{package}.{path.stem}:{cls}")
        for ep in entry_points(group=group):
            try:
                registry.register(ep.name, ep.value)
            except ValueError as exc:  # a plug-in must not take a built-in's name, nor break the others
                warnings.warn(f"ignoring {group} entry point '{ep.name}': {exc}", stacklevel=2)
    return discover


def _check_declaration(base: str) -> Callable[[Any], None]:
    def check(cls: Any) -> None:
        if base == "method":
            from c3bench.method import Method as expected
        else:
            from c3bench.protocol import Protocol as expected
        if not isinstance(cls, type) or not issubclass(cls, expected):
            raise TypeError(f"{cls!r} is not a {expected.__name__} subclass")
        for attr in ("name", "description"):
            if not getattr(cls, attr, None):
                raise TypeError(f"{cls.__name__} must declare a non-empty '{attr}'")
        names = [p.name for p in cls.hparams]
        if len(names) != len(set(names)):
            raise TypeError(f"{cls.__name__} declares a hyperparameter twice")
    return check


METHODS: Registry[type[Method]] = Registry(
    "method", _check_declaration("method"), _builtins_and_plugins("c3bench.methods", "register_method", "c3bench.methods"))
PROTOCOLS: Registry[type[Protocol]] = Registry(
    "protocol", _check_declaration("protocol"),
    _builtins_and_plugins("c3bench.protocols", "register_protocol", "c3bench.protocols"))
BACKBONES: Registry[Callable[..., Any]] = Registry("backbone")
for _name, _target in (("lenet", "c3bench.models.backbones:lenet"), ("simple-cnn", "c3bench.models.backbones:simple_cnn"),
                       ("resnet18", "c3bench.models.resnet:resnet18"), ("resnet50", "c3bench.models.resnet:resnet50")):
    BACKBONES.register(_name, _target)


def _discover_configs(registry: Registry) -> None:
    from c3bench.configs import load_file

    for path in sorted((_PACKAGE / "configs").glob("*.toml")):
        config = load_file(path)
        registry.register(config.name, config)


CONFIGS: Registry[Any] = Registry("config", discover=_discover_configs)
SCHEDULES: Registry[Any] = Registry("schedule")
DATASETS: Registry[Any] = Registry("dataset", discover=lambda registry: importlib.import_module("c3bench.data.datasets"))

register_method = METHODS.decorator(lambda cls: cls.name)
register_method.__doc__ = "Class decorator: make a method available under ``cls.name``."
register_protocol = PROTOCOLS.decorator(lambda cls: cls.name)
register_protocol.__doc__ = "Class decorator: make a protocol available under ``cls.name``."


# ------------------------------------------------------------------------------------------ shorthands
def get_method(name: str) -> type[Method]:
    return METHODS.get(name)


def get_protocol(name: str) -> type[Protocol]:
    return PROTOCOLS.get(name)


def methods() -> dict[str, type[Method]]:
    return METHODS.items()


def protocols() -> dict[str, type[Protocol]]:
    return PROTOCOLS.items()


def space(cls: type[Method] | type[Protocol]) -> HParamSpace:
    return HParamSpace(tuple(cls.hparams))
