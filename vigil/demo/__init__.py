"""The demo: a small shop site with the beacon embedded, and generated traffic for it."""
