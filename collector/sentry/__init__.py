"""Sentry compatibility: an app already instrumented with an official Sentry SDK only changes its DSN.

``POST /api/{project_id}/envelope/`` and ``/api/{project_id}/store/`` take what the SDKs
send (https://develop.sentry.dev/sdk/envelopes/); errors become Vigil error events,
sessions and client reports go to their own tables.
"""
