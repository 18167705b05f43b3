"""The file source needs no resource: files are read from the definitions folder, which the
`okr_definitions` resource already knows, and no credentials are involved."""

RESOURCE_KEY = None


def make_resource() -> None:
    return None
