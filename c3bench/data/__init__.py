"""Data: readers for the standard formats, download, tensor cache, partitioners and batching."""
