"""The PostgreSQL target's URL — from the environment only."""

import os

import dagster as dg

from destinations.postgres import URL_ENV, Target, target_from


class PostgresPublishResource(dg.ConfigurableResource):
    """A libpq URL of the database to publish to (set OKR_PUBLISH_POSTGRES_URL)."""

    url: str = ""

    def target(self, schema_prefix: str) -> Target:
        return target_from(self.url, schema_prefix)


def postgres_publish_resource() -> PostgresPublishResource:
    # An EnvVar is read when a run starts and never shown in the UI; an unset one would fail
    # the config of the run, so a missing variable is left empty and fails only the publish
    # step, with a message naming it.
    return PostgresPublishResource(url=dg.EnvVar(URL_ENV) if os.environ.get(URL_ENV) else "")
