"""The after-action record: report data built from a run's events, and its three renderings."""
