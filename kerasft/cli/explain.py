"""`kerasft explain MODEL_OR_RUN_DIR --images PATHS... --out DIR`: Grad-CAM overlays of images.

For each image it writes `<name>_gradcam.png` (the heatmap over the image) and, for all of them,
`explain.json` with the explained layer and, per image, the predicted class, its probability
and the explained class.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="Grad-CAM heatmaps: where a saved model looked in some images",
        description=__doc__,
    )
    parser.add_argument("model", metavar="MODEL_OR_RUN_DIR", help="a run directory or .keras file")
    parser.add_argument("--images", nargs="+", required=True, metavar="PATH", help="image files")
    parser.add_argument("--out", required=True, help="output folder for the overlays")
    parser.add_argument(
        "--class-index", type=int, help="class to explain (default: each image's prediction)"
    )
    parser.add_argument(
        "--layer",
        help="layer whose feature map is explained, e.g. BACKBONE/LAYER (default: the deepest "
        "one of at least 7 x 7)",
    )
    parser.add_argument("--alpha", type=float, default=0.45, help="heatmap opacity in the overlay")
    parser.set_defaults(func=run)


def _read_images(paths: list[str], model) -> np.ndarray:
    """The image files fitted to the model's input (channels, fixed size) as one batch."""
    from kerasft.data.images import load_image
    from kerasft.data.model_input import fit_images

    target = tuple(model.inputs[0].shape)
    batch = []
    for path in paths:
        if not Path(path).is_file():
            raise KerasftError(f"--images {path}: no such file.")
        try:
            image = load_image(path)
        except Exception as err:  # PIL raises many types for unreadable files
            raise KerasftError(f"--images {path}: not a readable image ({err}).") from None
        if len(target) == 4 and None in target[1:3]:
            # A model of free input size still needs one size per batch: the first image's.
            target = (None, image.shape[0], image.shape[1], target[3])
        batch.append(np.asarray(fit_images(image[None], target), np.float32)[0])
    return np.stack(batch)


def run(args) -> int:
    from kerasft import model_file
    from kerasft.explain import GradCAM, overlay

    if not 0.0 <= args.alpha <= 1.0:
        raise KerasftError(f"--alpha {args.alpha}: give an opacity between 0 and 1.")
    loaded = model_file.load(args.model)
    model, names = loaded.model, loaded.class_names
    explainer = GradCAM(model, layer=args.layer)
    print(f"Grad-CAM layer: {explainer.layer_name}")
    x = _read_images(args.images, model)
    probs = np.asarray(model.predict(x, verbose=0))
    heatmaps = explainer(x, class_index=args.class_index)
    blended = overlay(x, heatmaps, alpha=args.alpha)

    from PIL import Image

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for path, image, p in zip(args.images, blended, probs, strict=True):
        if p.shape[-1] == 1:
            pred, prob = int(p[0] >= 0.5), float(p[0] if p[0] >= 0.5 else 1 - p[0])
        else:
            pred, prob = int(np.argmax(p)), float(np.max(p))
        target = out / f"{Path(path).stem}_gradcam.png"
        Image.fromarray(image).save(target)
        label = names[pred] if names and pred < len(names) else str(pred)
        explained = pred if args.class_index is None else args.class_index
        results.append(
            {
                "image": str(path),
                "overlay": str(target),
                "predicted": label,
                "predicted_index": pred,
                "probability": prob,
                "explained_index": explained,
            }
        )
        print(f"{path}: predicted {label} ({prob:.2f}) -> {target}")
    (out / "explain.json").write_text(
        json.dumps({"layer": explainer.layer_name, "images": results}, indent=2)
    )
    return 0
