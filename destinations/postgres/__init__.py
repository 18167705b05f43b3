"""The PostgreSQL destination: the public tables, published for BI tools (no Dagster here).

settings.py  the environment variable and the tables; client.py  connecting, the publisher's
own migrations; publish.py  what changed, the one-transaction replace, and its record.
"""

from destinations.postgres.client import PublishError, Target, target_from
from destinations.postgres.publish import PublishResult, plan_publish, publish
from destinations.postgres.settings import URL_ENV

__all__ = [
    "URL_ENV",
    "PublishError",
    "PublishResult",
    "Target",
    "plan_publish",
    "publish",
    "target_from",
]
