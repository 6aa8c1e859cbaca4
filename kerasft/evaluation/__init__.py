"""Evaluation: metrics, reports, figures, test-time augmentation and predictions."""

from kerasft.evaluation.evaluate import evaluate, infer_task
from kerasft.evaluation.predict import predict
from kerasft.evaluation.report import Report
from kerasft.evaluation.tta import TestTimeAugmentation

__all__ = ["Report", "TestTimeAugmentation", "evaluate", "infer_task", "predict"]
