"""Built-in protocols, one file each; every file registers its class with ``@register_protocol``.

Installed as ``c3bench.protocols`` and imported under that name only (see ``c3bench.methods``).
"""

if __name__ != "c3bench.protocols":
    raise ImportError(f"import the built-in protocols as c3bench.protocols, not as {__name__!r}")


def builtins() -> dict[str, str]:
    """The built-in protocols, ``{name: "c3bench.protocols.<file>:<Class>"}``, read from the source."""
    from c3bench.registry import declared_classes

    return declared_classes(__name__, __path__, "register_protocol")
