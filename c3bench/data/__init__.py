"""Data: readers for the standard formats, download, integrity checks, tensor cache, progress
reporting (:mod:`c3bench.data.progress`; nothing in this package prints), partitioners and batching."""
