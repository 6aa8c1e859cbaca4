"""Training: the two-phase recipe (`fine_tune`), its phases, runners, compile defaults, resume.

`current_phase(model)` is how a callback or plugin learns which phase of `kft.fine_tune` is
running (a `Phase`: number, epochs, learning rate, what trains); `running_phase` sets it in
tests or custom loops. `FitRunner` is the plain way a phase trains (`kerasft.cache` has the
cached one).
"""

from kerasft.training.phase import Phase, current_phase, running_phase
from kerasft.training.runner import FitRunner

__all__ = ["FitRunner", "Phase", "current_phase", "running_phase"]
