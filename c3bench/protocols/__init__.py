"""Built-in protocols, one file each; every file registers its class with ``@register_protocol``."""


def builtins() -> dict[str, str]:
    """The built-in protocols, ``{name: "c3bench.protocols.<file>:<Class>"}``, read from the source."""
    from c3bench.registry import declared_classes

    return declared_classes(__name__, __path__, "register_protocol")
