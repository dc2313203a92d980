"""Built-in methods, one file each; every file registers its class with ``@register_method``."""
