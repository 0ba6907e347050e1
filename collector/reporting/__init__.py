"""The browser's own reports: the Reporting API (NEL, CSP, deprecations, interventions, crashes) and legacy CSP reports.

These arrive even when the page's JavaScript never ran. ``endpoint.py`` takes them,
``convert.py`` turns them into Vigil events. The response headers a site sets to send
them here come from ``integrations/reporting.py``, a middleware for the site's own app.
"""
