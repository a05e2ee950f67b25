"""The installed package's version, read from its metadata: pyproject.toml is the one place it is written."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("selfinstruct")
except PackageNotFoundError:  # a checkout on sys.path that was never installed
    __version__ = "0+unknown"
