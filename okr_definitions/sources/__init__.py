"""What a metric asks its source for: one pydantic model per source.

These live with the definitions (not in `connectors/`) because `okr validate` and the JSON
Schema need them, and definitions come first in the data flow. Connectors import them.
"""
