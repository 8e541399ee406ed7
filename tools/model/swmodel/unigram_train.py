"""The teacher's tokenizer: a small SentencePiece-style Unigram, trained here.

The real teacher (`MoritzLaurer/mDeBERTa-v3-base-mnli-xnli`) uses mDeBERTa-v3's 250k-piece
SentencePiece Unigram model; the hub is unreachable from this project's machines, so we train a
small Unigram vocabulary with the `tokenizers` library on the same project text as the WordPiece one
and use it through transformers' own `DebertaV2Tokenizer` pipeline (Replace whitespace runs, NFC,
right Strip, Metaspace `▁` always prepended, Unigram, `[CLS] A [SEP] B [SEP]`). mDeBERTa's special
ids: [PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3; [MASK] is the last id.

The trained pieces and scores are pinned in `tools/model/vocab/unigram.json` (as the WordPiece vocab
is in vocab.txt): `fixture --task zero-shot` reads that file, `train-unigram` rewrites it.
"""
from __future__ import annotations

import json
from pathlib import Path

from .tokenizer_train import ALPHABET, training_texts

UNIGRAM_FILE = Path(__file__).resolve().parent.parent / "vocab" / "unigram.json"
SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
MASK = "[MASK]"
TRAIN_VOCAB_SIZE = 3000

# The hypothesis words, in the languages the template might be translated to: a real teacher
# knows them, so they get whole pieces here too.
HYPOTHESIS_TEXT = [
    "The sentiment of this text is positive.",
    "The sentiment of this text is neutral.",
    "The sentiment of this text is negative.",
    "This example is positive. This example is neutral. This example is negative.",
]


def _pipeline(tok):
    from tokenizers import Regex, normalizers, pre_tokenizers

    # DebertaV2Tokenizer's own normalizer and pre-tokenizer (transformers 5), so the pieces are
    # learnt on what the tokenizer will see.
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "),
        normalizers.NFC(),
        normalizers.Strip(left=False, right=True),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    return tok


def train_unigram(vocab_size: int = TRAIN_VOCAB_SIZE) -> list[tuple[str, float]]:
    from tokenizers import Tokenizer, models, trainers

    tok = _pipeline(Tokenizer(models.Unigram()))
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        unk_token="[UNK]",
        initial_alphabet=ALPHABET,
        max_piece_length=6,
        show_progress=False,
    )
    tok.train_from_iterator(training_texts() + HYPOTHESIS_TEXT, trainer=trainer)
    trained = json.loads(tok.to_str())["model"]["vocab"]
    pieces = [(p, float(s)) for p, s in trained]
    assert [p for p, _ in pieces[: len(SPECIALS)]] == SPECIALS, pieces[:6]
    return pieces + [(MASK, 0.0)]


def write_unigram(pieces: list[tuple[str, float]], path: Path = UNIGRAM_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One piece a line, indented as the repository's formatter (biome) wants it.
    lines = ",\n".join("  " + json.dumps([p, s], ensure_ascii=False) for p, s in pieces)
    path.write_text("[\n" + lines + "\n]\n", encoding="utf-8")


def read_unigram(path: Path = UNIGRAM_FILE) -> list[tuple[str, float]]:
    pieces = [(p, float(s)) for p, s in json.loads(path.read_text(encoding="utf-8"))]
    assert [p for p, _ in pieces[: len(SPECIALS)]] == SPECIALS
    assert pieces[-1][0] == MASK
    return pieces


def pad_unigram(pieces: list[tuple[str, float]], size: int) -> list[tuple[str, float]]:
    """Unreachable fillers before [MASK] so the embedding matrix has the real size (the full shape):
    `[unusedN]` contains no `▁`, and Metaspace puts one in front of every word, so no word is ever
    tokenized into them; their score is far below any real piece."""
    body, mask = pieces[:-1], pieces[-1]
    have = {p for p, _ in body}
    n = 0
    while len(body) < size - 1:
        name = f"[unused{n}]"
        n += 1
        if name not in have:
            body.append((name, -100.0))
    return body + [mask]


def build_deberta_tokenizer(pieces: list[tuple[str, float]]):
    from transformers import DebertaV2Tokenizer

    tok = DebertaV2Tokenizer(
        vocab=[tuple(p) for p in pieces],
        do_lower_case=False,
        split_by_punct=False,
        unk_token="[UNK]",
        model_max_length=512,
    )
    assert (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.unk_token_id) == (0, 1, 2, 3), (
        tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.unk_token_id)
    return tok
