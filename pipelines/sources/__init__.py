"""One folder per source, each with the same small files (assets, resources)."""
