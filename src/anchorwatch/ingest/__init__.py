"""Import adapters: every source becomes canonical rows (DESIGN 3.1).

``open_source`` picks the adapter for a file; :func:`anchorwatch.ingest.loader.import_source`
validates and lands what it yields.
"""

from anchorwatch.ingest.base import RawRow, Source
from anchorwatch.ingest.registry import FORMATS, open_source

__all__ = ["FORMATS", "RawRow", "Source", "open_source"]
