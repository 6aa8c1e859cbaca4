"""kerasft-mlflow: an MLflow tracking callback, registered with kerasft as "mlflow".

import kerasft as kft
logger = kft.callbacks.get("mlflow", tracking_uri="sqlite:///mlflow.db", params={"data": "flowers"})
kft.fine_tune(model, train, val, callbacks=[logger])
"""

from kerasft_mlflow.mlflow_logger import MLflowLogger

__version__ = "0.1.0"
__all__ = ["MLflowLogger"]
