"""`kerasft backbones`: list the registered backbones and their block maps."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "backbones", help="list the image, text and audio backbones kerasft can fine-tune"
    )
    parser.add_argument("--blocks", metavar="NAME", help="show the block map of one backbone")
    parser.set_defaults(func=run)


def _text_blocks(name: str) -> int:
    import kerasft as kft

    return _print_blocks(kft.get_backbone(kft.build(name, 2, weights=None, sequence_length=16)))


def _print_blocks(encoder) -> int:
    from kerasft.backbones.blocks import block_map

    for block, layers in block_map(encoder).items():
        print(f"{block:20s} {len(layers):4d} layers  {layers[0].name} .. {layers[-1].name}")
    return 0


def run(args) -> int:
    from kerasft.backbones import registry
    from kerasft.backbones.audio_presets import AUDIO_BACKBONES, is_audio_backbone, musicnn_files
    from kerasft.backbones.text_presets import TEXT_BACKBONES, is_text_backbone

    if args.blocks and is_audio_backbone(args.blocks):
        from kerasft.backbones.musicnn import musicnn_backbone

        return _print_blocks(musicnn_backbone(weights=None))
    if args.blocks and is_text_backbone(args.blocks):
        return _text_blocks(args.blocks)
    if args.blocks:
        from kerasft.backbones.blocks import block_map

        spec = registry.get(args.blocks)
        net = spec.create(max(spec.min_size, 96), weights=None)
        for name, layers in block_map(net, spec.blocks).items():
            print(f"{name:16s} {len(layers):4d} layers  {layers[0].name} .. {layers[-1].name}")
        return 0
    print(f"{'name':22s} {'keras.applications':20s} {'size':>5s} {'min':>4s}  preprocessing")
    for spec in registry.REGISTRY.values():
        print(
            f"{spec.name:22s} {spec.keras_name:20s} {spec.default_size:5d} {spec.min_size:4d}  "
            f"{spec.preprocessing.mode}"
        )
    print("\ntext backbones (or the path of a KerasHub / Hugging Face BERT folder):")
    for preset in TEXT_BACKBONES.values():
        here = "ready" if (preset.path / "config.json").is_file() else f"run `{preset.how_to_get}`"
        print(f"{preset.name:22s} {preset.description} [{here}]")
    print("\naudio backbones (mono waveforms, resampled by the data pipeline):")
    for preset in AUDIO_BACKBONES.values():  # musicnn is the one so far
        ready = musicnn_files().backbone.is_file()
        here = "ready" if ready else f"run `{preset.how_to_get}`"
        print(f"{preset.name:22s} {preset.description} [{here}]")
    return 0
