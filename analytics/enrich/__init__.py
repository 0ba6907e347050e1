"""Enrichment steps: each adds fields derived from what the event already carries."""
