"""Jobs: the end-to-end runs behind the CLI (`kerasft fit`), each writing a run directory."""
