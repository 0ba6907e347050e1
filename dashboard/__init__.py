"""The dashboard: a Dash app that asks the analytics service's read API for everything it shows."""
