"""The probe agent: synthetic checks from several regions and host metrics, reported to the collector."""
