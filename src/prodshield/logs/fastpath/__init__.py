"""Vectorised analysers for large files of one well-known format (polars, when installed)."""
