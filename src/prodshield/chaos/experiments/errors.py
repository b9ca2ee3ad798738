"""The experiment runner's exceptions, in one place so callers can catch the family."""

from __future__ import annotations

from prodshield.errors import ProdshieldError


class ExperimentError(ProdshieldError):
    """Base class of the experiment runner's errors."""


class InvalidExperiment(ExperimentError):
    """The experiment file cannot be read or does not follow the format; one line per problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ActivityFailed(ExperimentError):
    """An activity could not do its job (the run goes on; the activity is marked ``failed``)."""


class InterruptExecution(ExperimentError):
    """Stop the experiment now (SIGTERM, or a provider asking for it); rollbacks per strategy."""


class LeaveNow(BaseException):
    """Raised from SIGUSR1/SIGUSR2 handlers: leave now, with (SIGUSR1) or without rollbacks."""

    def __init__(self, graceful: bool) -> None:
        super().__init__("graceful" if graceful else "ungraceful")
        self.graceful = graceful
