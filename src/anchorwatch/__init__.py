"""anchorwatch: make the emotional labour of community anchors visible.

Read DESIGN.md for the product; the packages follow its data flow:
``ingest`` → ``store`` → (signals → episodes → members → care) → ``cli`` / web.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("anchorwatch")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
