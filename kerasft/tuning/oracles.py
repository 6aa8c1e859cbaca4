"""Oracles for fixed lists of configurations: `ListOracle` and the one-factor `SweepOracle`."""

from __future__ import annotations

import keras_tuner as kt

from kerasft.tuning.space import SearchSpace


class ListOracle(kt.Oracle):
    """Runs the given hyperparameter value dicts, in order, once each, then stops.

    Example:

    >>> import keras_tuner as kt
    >>> from kerasft.tuning.oracles import ListOracle
    >>> oracle = ListOracle([{"dropout": 0.1}, {"dropout": 0.3}],
    ...                     objective=kt.Objective("val_accuracy", "max"))
    >>> len(oracle.configurations)
    2
    """

    def __init__(self, configurations: list[dict], **kwargs):
        kwargs.setdefault("max_trials", len(configurations))
        super().__init__(**kwargs)
        self.configurations = [dict(c) for c in configurations]
        self._next = 0

    def populate_space(self, trial_id):
        if self._next >= len(self.configurations):
            return {"status": kt.engine.trial.TrialStatus.STOPPED, "values": None}
        hp = self.hyperparameters.copy()
        values = {**hp.values, **self.configurations[self._next]}
        self._next += 1
        return {"status": kt.engine.trial.TrialStatus.RUNNING, "values": values}

    def get_state(self):
        state = super().get_state()
        state.update(configurations=self.configurations, next=self._next)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.configurations = state["configurations"]
        self._next = state["next"]


def sweep_configurations(space: SearchSpace, points: int = 3) -> list[dict]:
    """The base configuration, then each tuned parameter moved alone over its values."""
    base = {p.name: p.default for p in space.tuned() if p.condition is None}
    configurations = [dict(base, **{"sweep/parameter": "base"})]
    for param in space.tuned():
        if param.condition is not None:
            parent, parent_values = param.condition
            if base.get(parent, space[parent].default) not in parent_values:
                # Sweep a conditional parameter where it applies, e.g. momentum under SGD.
                context = {parent: parent_values[0]}
            else:
                context = {}
        else:
            context = {}
        for value in param.grid(points):
            if value == param.default and not context:
                continue
            configurations.append(
                {**base, **context, param.name: value, "sweep/parameter": param.name}
            )
    return configurations


class SweepOracle(ListOracle):
    """One-factor-at-a-time: the base configuration, then every tuned hyperparameter moved
    alone across its values (choices, or `points` across a range)."""

    def __init__(self, space: SearchSpace, points: int = 3, **kwargs):
        configurations = sweep_configurations(space, points)
        kwargs["max_trials"] = len(configurations)
        super().__init__(configurations, **kwargs)
        self.hyperparameters.Fixed("sweep/parameter", "base")
