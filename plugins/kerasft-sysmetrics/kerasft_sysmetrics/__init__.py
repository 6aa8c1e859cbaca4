"""kerasft-sysmetrics: CPU, RAM and GPU-memory use per epoch, registered with kerasft as "system_metrics".

import kerasft as kft
model.fit(x, y, epochs=5, callbacks=[kft.callbacks.get("system_metrics", log_dir="runs/a")])
"""

from kerasft_sysmetrics.system_metrics import SystemMetrics

__version__ = "0.1.0"
__all__ = ["SystemMetrics"]
