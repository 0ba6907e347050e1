"""The analytics service: the one owner of the DuckDB file; consumes, enriches, stores, answers queries."""
