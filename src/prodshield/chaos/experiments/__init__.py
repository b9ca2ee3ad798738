"""Chaos Toolkit-compatible experiments: load, validate, run, journal, JUnit.

The public API used by the CLI, the batteries and the tests::

    experiment = load_experiment("exp.yaml")
    validate_experiment(experiment)
    journal = run_experiment(experiment, RunOptions(rollback_strategy=RollbackStrategy.ALWAYS))
    exit_code(journal)
"""

from prodshield.chaos.experiments.errors import (
    ActivityFailed,
    ExperimentError,
    InterruptExecution,
    InvalidExperiment,
)
from prodshield.chaos.experiments.experiment import load_experiment, validate_experiment
from prodshield.chaos.experiments.journal import (
    Journal,
    exit_code,
    outcome,
    save_journal,
    write_journal,
)
from prodshield.chaos.experiments.junit import to_junit
from prodshield.chaos.experiments.runner import RunOptions, run_experiment
from prodshield.chaos.experiments.strategy import Dry, HypothesisStrategy, RollbackStrategy

__all__ = [
    "ActivityFailed",
    "Dry",
    "ExperimentError",
    "HypothesisStrategy",
    "InterruptExecution",
    "InvalidExperiment",
    "Journal",
    "RollbackStrategy",
    "RunOptions",
    "exit_code",
    "load_experiment",
    "outcome",
    "run_experiment",
    "save_journal",
    "to_junit",
    "validate_experiment",
    "write_journal",
]
