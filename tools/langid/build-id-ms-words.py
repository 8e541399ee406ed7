#!/usr/bin/env python3
"""
Builds src/language/id-ms-words.ts: words that mark a text as Indonesian or as Malay, read by the
Indonesian/Malay step of language identification (src/language/identify.ts). Not run by the build
or CI: its output is committed. Standard library only; it reads three wheels from PyPI, all MIT:

    pip download --no-deps -d /tmp/id-ms malaya==5.1.1 nlp-id==0.1.23.0 Sastrawi==1.0.1
    python3 tools/langid/build-id-ms-words.py /tmp/id-ms
    npx biome format --write src/language/id-ms-words.ts

- Indonesian: the words of nlp-id's part-of-speech corpus (Indonesian news, ~465,000 words) seen
  at least twice and mostly in lower case, that none of malaya's four Malay dictionaries lists,
  that are not English (malaya's English word list), and that are not a shared word with a clitic
  or affix (-nya, -lah, se-, ber-, ... of a word a Malay dictionary lists).
- Malay: the words that two or more of malaya's Malay dictionaries list, and the informal forms
  of malaya's social-media normaliser, that no Indonesian source knows (the corpus, nlp-id's
  root words and lemma table, Sastrawi's root words), that are not English, that are not an
  Indonesian word with a clitic or affix, and (the normaliser's forms) that are not Jakarta
  informal forms of an Indonesian word (-in, ny-/n-/ng-/m- for s-/t-/k-/p-).

A word a source lacks is not a word the other language lacks, so both lists are evidence, not
proof: identify.ts weighs each found word lightly (ID_MS_LEXICON_WEIGHT), chosen on the
development set (tools/langid/dev-id-ms.mjs).
"""
import ast
import collections
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

WHEELS = {
    "malaya-5.1.1-py3-none-any.whl": "3cc795b733254a97fbb0705d890b0cc125967a4a4a2beb716da5b219d19d3239",
    "nlp_id-0.1.23.0-py3-none-any.whl": "358faafb1e4801d79d6c9c8cf20be9d62d990fff9563f2bb6ee1cd7731691384",
    "Sastrawi-1.0.1-py2.py3-none-any.whl": "ac3d1f442ae8f33fd0f59387eb33a1a5121241f028c318c60820f26bd032d93b",
}
MALAY_DICTIONARIES = ["dbp", "kamus_dewan", "words", "cambridge_words"]
CLITICS = ("nya", "lah", "kah", "pun", "ku", "mu")
PREFIXES = ("", "se", "ber", "be", "ter", "di", "ke", "pe", "per", "memper", "diper")
SUFFIXES = ("", "an", "kan", "i")
# Jakarta informal verbs: a nasal for the first letter of the word (nyangka: sangka, nunggu: tunggu).
NASAL_FORMS = (("ny", "s"), ("n", "t"), ("ng", "k"), ("m", "p"), ("ng", ""))


def open_wheels(folder):
    wheels = {}
    for name, sha in WHEELS.items():
        data = (Path(folder) / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            sys.exit(f"{name}: sha256 differs from the one this builder was written for")
        wheels[name.split("-")[0]] = zipfile.ZipFile(Path(folder) / name)
    return wheels


def python_literal(wheel, path, name):
    """The value of a top-level `name = <literal>` in a Python file of a wheel, never executed."""
    for node in ast.parse(wheel.read(path).decode("utf8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    sys.exit(f"{path}: no {name}")


def lines(wheel, path):
    return {line.strip().lower() for line in wheel.read(path).decode("utf8").splitlines() if line.strip()}


def bases(word):
    """What the word could be a shared derivation of: clitics, then one prefix and one suffix, off."""
    out = set()
    forms = {word} | {word[: -len(c)] for c in CLITICS if word.endswith(c) and len(word) - len(c) >= 3}
    for form in forms:
        for p in PREFIXES:
            for s in SUFFIXES:
                if form.startswith(p) and form.endswith(s) and len(form) - len(p) - len(s) >= 3:
                    base = form[len(p) : len(form) - len(s)]
                    if base != word:
                        out.add(base)
    return out


def main(folder):
    w = open_wheels(folder)
    malaya, nlp_id, sastrawi = w["malaya"], w["nlp_id"], w["Sastrawi"]
    dictionaries = [
        {x.lower() for x in python_literal(malaya, f"malaya/dictionary/bahasa/{d}.py", "words")}
        for d in MALAY_DICTIONARIES
    ]
    malay = set().union(*dictionaries)
    listed_by = collections.Counter(x for d in dictionaries for x in d)
    english = {x.lower() for x in python_literal(malaya, "malaya/dictionary/english/words.py", "words")}
    normaliser = python_literal(malaya, "malaya/text/rules.py", "rules_normalizer")

    roots = lines(sastrawi, "Sastrawi/Stemmer/data/kata-dasar.txt") | lines(nlp_id, "nlp_id/data/root-word.txt")
    lemmas = json.loads(nlp_id.read("nlp_id/data/lemma_dict.json"))
    count, lower, artefacts = collections.Counter(), collections.Counter(), set()
    for line in nlp_id.read("nlp_id/data/dataset_postag.txt").decode("utf8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not re.fullmatch(r"[A-Za-z]+", parts[0]):
            continue
        word = parts[0].lower()
        count[word] += 1
        if parts[0] == word:
            lower[word] += 1
        # The corpus writes some verbs as root + "i" (lakui for melakukan): not words of running text.
        if parts[1] == "VB" and word.endswith("i") and word[:-1] in roots:
            artefacts.add(word)
    indonesian = set(count) | {k.lower() for k in lemmas} | {v.lower() for v in lemmas.values()} | roots

    id_words = sorted(
        x
        for x, n in count.items()
        if n >= 2
        and lower[x] >= 0.8 * n
        and len(x) >= 3
        and x not in malay
        and x not in english
        and x not in artefacts
        and not any(b in malay for b in bases(x))
    )

    def malay_only(x):
        return x not in indonesian and x not in english and not any(b in indonesian for b in bases(x))

    def jakarta_form(x):
        v = x[2:] if x.startswith("di") else x
        if v.endswith("in") and (v[:-2] in indonesian or v[:-3] in indonesian):
            return True
        return any(
            x.startswith(nasal)
            and (first + x[len(nasal) :] in indonesian or (x.endswith("in") and first + x[len(nasal) : -2] in indonesian))
            for nasal, first in NASAL_FORMS
        )

    ms_words = {x for x in malay if listed_by[x] >= 2 and re.fullmatch(r"[a-z]{3,}", x) and malay_only(x)}
    ms_words |= {
        k.lower()
        for k in normaliser
        if re.fullmatch(r"[a-z]{2,}", k.lower()) and malay_only(k.lower()) and not jakarta_form(k.lower())
    }
    ms_words = sorted(ms_words)

    out = Path(__file__).resolve().parents[2] / "src/language/id-ms-words.ts"
    out.write_text(
        "/**\n"
        " * Generated by tools/langid/build-id-ms-words.py from malaya 5.1.1, nlp-id 0.1.23.0 and Sastrawi\n"
        " * 1.0.1 (all MIT): words one language's sources know and the other's lack. Do not edit; read by\n"
        " * identify.ts.\n"
        " */\n"
        f"export const INDONESIAN_WORDS = {json.dumps(' '.join(id_words))};\n"
        f"export const MALAY_WORDS = {json.dumps(' '.join(ms_words))};\n",
        encoding="utf8",
    )
    print(f"{out}: {len(id_words)} Indonesian, {len(ms_words)} Malay words")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tools/langid/build-id-ms-words.py <folder with the three wheels>")
    main(sys.argv[1])
