"""Built-in protocols, one file each; every file registers its class with ``@register_protocol``."""
