"""Evaluation: metrics, reports, figures, test-time augmentation and predictions."""

from kerasft.evaluation.evaluate import evaluate
from kerasft.evaluation.predict import predict
from kerasft.evaluation.predict_files import FilePredictions, predict_files
from kerasft.evaluation.report import Report
from kerasft.evaluation.tta import TestTimeAugmentation
from kerasft.training.tasks import infer_task

__all__ = [
    "FilePredictions",
    "Report",
    "TestTimeAugmentation",
    "evaluate",
    "infer_task",
    "predict",
    "predict_files",
]
