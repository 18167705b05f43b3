from pipelines.destinations.notify.assets import NOTIFY, NOTIFY_JOB, build_notify_definitions

__all__ = ["NOTIFY", "NOTIFY_JOB", "build_notify_definitions"]
