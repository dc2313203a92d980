"""Built-in methods, one file each; every file registers its class with ``@register_method``."""


def builtins() -> dict[str, str]:
    """The built-in methods, ``{name: "c3bench.methods.<file>:<Class>"}``, read from the source."""
    from c3bench.registry import declared_classes

    return declared_classes(__name__, __path__, "register_method")
