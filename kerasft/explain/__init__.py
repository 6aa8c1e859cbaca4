"""Explainability: Grad-CAM heatmaps and their overlays."""

from kerasft.explain.gradcam import GradCAM, explain, overlay

__all__ = ["GradCAM", "explain", "overlay"]
