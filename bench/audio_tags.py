"""Check: musicnn's pretrained MagnaTagATune tags fit real drum samples, and not white noise.

One process. For each drum class of `kerasft data prepare drums` (the first clips of kick,
snare, tom, crash and hi-hat, in file order), the first 0.5 s of the sample is repeated every
0.5 s over 6 s (musicnn tags 3-second patches of music: a one-shot alone is mostly silence),
tagged with `kerasft.backbones.musicnn.top_tags` (the real weights of `kerasft weights import
musicnn`), and its top 5 tags recorded; white noise is the control. The spoken-prompt check is a
test (tests/test_audio_musicnn.py).

Target: "drums" or "beat" among the top 5 tags of at least 4 of the 5 drum classes, and
neither among white noise's.

    python bench/audio_tags.py [--clips 3] [--record none]
"""

from __future__ import annotations

import argparse

import _common as c

CLASSES = ["kick", "snare", "tom", "crash", "hi-hat"]
DRUM_TAGS = {"drums", "beat", "beats"}
RATE = 16000


def beat(wave, seconds: float = 6.0, every: float = 0.5):
    """The first `every` seconds of a one-shot `wave`, repeated every `every` seconds."""
    import numpy as np

    hit = wave[: int(every * RATE)]
    out = np.zeros(int(seconds * RATE), "float32")
    step = int(every * RATE)
    for start in range(0, len(out) - step + 1, step):
        out[start : start + len(hit)] += hit
    return out


def main() -> None:
    p = c.add_record_flag(argparse.ArgumentParser(description=__doc__))
    p.add_argument("--clips", type=int, default=3, help="samples tagged per class")
    args = p.parse_args()
    import numpy as np

    from kerasft.backbones.musicnn import musicnn_tagger, top_tags
    from kerasft.data.audio import AUDIO_EXTENSIONS
    from kerasft.data.audio_files import read_audio
    from kerasft.paths import kerasft_data_dir

    root = kerasft_data_dir() / "drums"
    tagger = musicnn_tagger()
    classes = {}
    for name in CLASSES:
        files = sorted(f for f in (root / name).iterdir() if f.suffix.lower() in AUDIO_EXTENSIONS)
        clips = []
        for path in files[: args.clips]:
            tags = [tag for tag, _ in top_tags(beat(read_audio(path)), 5, tagger)]
            clips.append(
                {"file": path.name, "top_5": tags, "drum_tag": bool(DRUM_TAGS & set(tags))}
            )
        classes[name] = {
            "clips": clips,
            "drum_tag": sum(x["drum_tag"] for x in clips) * 2 > len(clips),
        }
    noise = np.random.default_rng(0).normal(0, 0.1, 6 * RATE).astype("float32")
    noise_tags = [tag for tag, _ in top_tags(noise, 5, tagger)]
    hits = sum(v["drum_tag"] for v in classes.values())
    c.emit(
        {
            "bench": "audio_tags",
            "classes": classes,
            "classes_with_drum_tags": hits,
            "white_noise_top_5": noise_tags,
            "target": "drums/beat in the top 5 of >= 4 of 5 drum classes (most of their clips), "
            "not in white noise's",
            "met": hits >= 4 and not DRUM_TAGS & set(noise_tags),
        },
        args,
    )


if __name__ == "__main__":
    main()
