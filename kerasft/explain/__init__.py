"""Explainability: Grad-CAM heatmaps and their overlays."""

import sys
import types

from kerasft.explain.gradcam import GradCAM, explain, overlay

__all__ = ["GradCAM", "explain", "overlay"]


class _CallablePackage(types.ModuleType):
    # Python binds `kerasft.explain` to this package when it is first imported, which replaces
    # the lazily exported function `kft.explain` if that was not read before (e.g. once
    # `kft.evaluate` drew a Grad-CAM grid). Calling the package keeps `kft.explain(...)` working.
    def __call__(self, model, images, class_index=None, layer=None):
        return explain(model, images, class_index=class_index, layer=layer)


sys.modules[__name__].__class__ = _CallablePackage
