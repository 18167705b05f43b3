"""Status-change alerts and the weekly check-in digest in Slack, Microsoft Teams and e-mail.

`plan_messages` decides what is due from the warehouse and the `notify:` rules, `deliver`
sends it once (recorded in `notify.sent`); neither knows about Dagster.
"""

from destinations.notify.outbox import (
    Delivery,
    Outgoing,
    deliver,
    plan_messages,
)

__all__ = ["Delivery", "Outgoing", "deliver", "plan_messages"]
