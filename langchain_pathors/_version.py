"""The package version, in one place (the User-Agent header reads it)."""

from importlib import metadata

try:
    __version__ = metadata.version("langchain-pathors")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
