"""c3bench's version, in one place (the package, the environment block of records and the build read it)."""

__version__ = "0.1.0"
