"""`kerasft export MODEL_OR_RUN_DIR --format savedmodel|tflite [--quantize float16|int8]`.

The exported model takes raw uint8 images of one fixed size (a model of free input size is
served at `--image-size`, else the size its file records, else its own resize size) and gives
probabilities. TFLite files can be quantized after training: float16 halves the size, int8
quarters it and is calibrated on `--calibration` images (a folder, a class-folder tree or
`keras:fashion_mnist`; default: the data the run recorded). The file's size, the interpreter's
images/s and its top-1 agreement with the Keras model on the calibration (or sample) images
are printed.
"""

from __future__ import annotations

from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a saved model as a SavedModel or (quantized) TFLite file for deployment",
        description=__doc__,
    )
    parser.add_argument("model", metavar="MODEL_OR_RUN_DIR", help="a run directory or .keras file")
    parser.add_argument("--format", choices=("savedmodel", "tflite"), default="savedmodel")
    parser.add_argument("--quantize", choices=("float16", "int8"), help="TFLite quantization")
    parser.add_argument(
        "--calibration",
        metavar="DIR_OR_DATA",
        help="images for int8 calibration and the speed check: a folder or keras:NAME",
    )
    parser.add_argument("--image-size", type=int, help="side to serve a free-size model at")
    parser.add_argument("--out", help="file or folder to write (default: beside the model)")
    parser.add_argument(
        "--check-images", type=int, default=200, help="images for the speed check (default 200)"
    )
    parser.set_defaults(func=run)


def _sample_images(args, loaded, exported):
    """Images to time the file on: the calibration source, the recorded data, else random."""
    import numpy as np

    from kerasft.deploy.calibration import calibration_images

    shape = exported.input_shape
    if is_audio_model(loaded.model):  # timed on noise: only the speed and the agreement count
        rng = np.random.default_rng(0)
        clips = rng.normal(0, 0.1, (min(args.check_images, 50), shape[1])).astype("float32")
        return clips, "random noise clips"
    size = shape[1:3]
    source = args.calibration or loaded.data
    if source:
        try:
            images = calibration_images(
                source, tuple(loaded.model.inputs[0].shape), size, args.check_images, seed=1
            )
            return images, source
        except KerasftError:
            if args.calibration:
                raise
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (args.check_images, *shape[1:]), dtype=np.uint8), "random images"


def is_audio_model(model) -> bool:
    from kerasft.builder.audio import is_audio_model as check

    return check(model)


def _short(tensor: str) -> str:
    # "model/backbone/conv_dw_1_relu/Relu6;model/...": the layer of the fused op's output.
    parts = tensor.split(";")[0].split("/")
    return parts[-2] if len(parts) > 1 else parts[0]


def run(args) -> int:
    from kerasft import model_file
    from kerasft.deploy.export import export
    from kerasft.deploy.tflite import NOISY_STEPS

    if args.check_images < 1:
        raise KerasftError(f"--check-images {args.check_images}: give a positive number.")
    loaded = model_file.load(args.model)
    exported = export(
        args.model,
        args.out,
        format=args.format,
        quantize=args.quantize,
        calibration=args.calibration,
        image_size=args.image_size,
    )
    what = args.format + (f" ({args.quantize})" if args.quantize else "")
    shape = "x".join(str(s) for s in exported.input_shape[1:])
    kind = "float32 waveforms" if is_audio_model(loaded.model) else "uint8"
    print(
        f"exported {what} to {exported.path}: {exported.size_bytes / 1e6:.2f} MB, "
        f"input {kind} N x {shape}"
    )
    if exported.float_layers:
        print(
            f"kept in float (int8 was {NOISY_STEPS:g}+ quantization steps off on the "
            f"calibration images): {', '.join(_short(n) for n in exported.float_layers)}"
        )
    if args.format == "tflite":
        from kerasft.deploy.interpreter import check_tflite

        images, source = _sample_images(args, loaded, exported)
        check = check_tflite(exported.path, images, reference=loaded.model)
        unit = "clips" if is_audio_model(loaded.model) else "images"
        print(
            f"{check.runtime}: {check.images_per_s:.1f} {unit}/s (one at a time) on "
            f"{len(images)} {unit} from {source}; top-1 agreement with the Keras model "
            f"{check.agreement:.2%}"
        )
    return 0
