"""Read Debian control-file text (deb822: `Packages`, `Translation-en`, `Release`).

A stanza is a run of `Field: value` lines ended by a blank line; a line starting with a space
or tab continues the previous field. A package description's first line is its synopsis; the
lines after it are the long description, where ` .` separates paragraphs and lines indented by
two or more spaces are shown verbatim (lists, code).

>>> from kerasft.data.corpora.deb822 import parse_stanzas, long_description
>>> text = "Package: hello\\nDescription-en: greet\\n Prints a\\n greeting.\\n .\\n  hello -n\\n\\n"
>>> stanza = parse_stanzas(text)[0]
>>> stanza["Package"]
'hello'
>>> long_description(stanza["Description-en"])
'Prints a greeting.\\n\\nhello -n'
"""

from __future__ import annotations

from collections.abc import Collection


def parse_stanzas(text: str, fields: Collection[str] | None = None) -> list[dict[str, str]]:
    """The stanzas of `text` as dicts; continuation lines join their field's value with '\\n'.

    Args:
        text: deb822 text (a whole `Packages` or `Translation-en` file).
        fields: keep only these fields (faster on big files); None keeps all.
    """
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, name = {}, None
        elif line[0] in " \t":
            if name is not None:
                current[name] += "\n" + line
        else:
            key, _, value = line.partition(":")
            name = key if fields is None or key in fields else None
            if name is not None:
                current[name] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def long_description(value: str) -> str:
    """The long part of a description value, as plain paragraphs.

    Wrapped lines of a paragraph are joined with spaces, ` .` lines become a blank line
    between paragraphs, and verbatim lines (indented two or more spaces) keep a line each.

    Args:
        value: the field's value as `parse_stanzas` returns it (synopsis, then '\\n' lines).
    """
    paragraphs: list[list[str]] = [[]]
    wrapping = False
    for raw in value.split("\n")[1:]:
        line = raw[1:] if raw[:1] in (" ", "\t") else raw
        if line.strip() == ".":
            paragraphs.append([])
            wrapping = False
        elif line[:1] in (" ", "\t"):
            paragraphs[-1].append(line.strip())
            wrapping = False
        elif line.strip():
            if wrapping:
                paragraphs[-1][-1] += " " + line.strip()
            else:
                paragraphs[-1].append(line.strip())
            wrapping = True
    return "\n\n".join("\n".join(p) for p in paragraphs if p)


def release_fields(text: str) -> dict[str, str]:
    """The header fields of a `Release` or clear-signed `InRelease` file (Suite, Date, ...).

    Args:
        text: the file's text.
    """
    lines = text.splitlines()
    if lines and lines[0].startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        # The armour header ("Hash: SHA256") ends at the first blank line.
        lines = lines[lines.index("") + 1 :] if "" in lines else []
    body = []
    for line in lines:
        if line.startswith("-----BEGIN PGP SIGNATURE-----"):
            break
        body.append(line)
    stanzas = parse_stanzas("\n".join(body))
    if not stanzas:
        return {}
    return {k: v for k, v in stanzas[0].items() if "\n" not in v}
