"""Engines run the analysis stages over a store.

``local`` runs them in this process, batch by batch: each batch is read,
handed to a pure stage function, and its results are written and committed
before the next, so a run killed half-way continues where it stopped and a
re-run on unchanged data does nothing.
"""
