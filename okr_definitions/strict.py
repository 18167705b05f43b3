from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (with a did-you-mean from the loader), never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)
