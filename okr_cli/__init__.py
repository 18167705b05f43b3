"""The `okr` command line."""
