"""The example source needs no stand-in: it reads nothing."""


def start():
    return None, {}


def write_demo_data(_definitions_dir, _first, _last) -> None:
    return None
