"""Built-in methods, one file each; every file registers its class with ``@register_method``.

This folder installs as ``c3bench.methods`` and is imported under that name only: imported a second
time as top-level ``methods`` (Python started in the repository folder), each class would be defined
twice and the registry would refuse the second definition.
"""

if __name__ != "c3bench.methods":
    raise ImportError(f"import the built-in methods as c3bench.methods, not as {__name__!r}")


def builtins() -> dict[str, str]:
    """The built-in methods, ``{name: "c3bench.methods.<file>:<Class>"}``, read from the source."""
    from c3bench.registry import declared_classes

    return declared_classes(__name__, __path__, "register_method")
