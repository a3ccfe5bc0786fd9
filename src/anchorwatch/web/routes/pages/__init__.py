"""The HTML pages, one module per resource; each module exposes ``router``."""
