"""Train the stand-in for the bert-base-multilingual-cased WordPiece tokenizer.

The Hugging Face hub is unreachable from this project's machines, so the real
mBERT vocab cannot be fetched. We train a real WordPiece vocabulary with the
`tokenizers` library using exactly mBERT's pipeline (BertNormalizer
clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False;
BertPreTokenizer; WordPiece '##' / [UNK]; [CLS] $A [SEP]) and mBERT's special
ids ([PAD]=0, [unused1..99]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103).
"""
from __future__ import annotations

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from pathlib import Path

from .corpus_src import UNTRAINED_SCRIPTS_TEXT, records

# The pinned vocabulary: tokenizers' WordPiece trainer breaks ties between
# equally frequent merges in HashMap order, so two trainings of the same text
# give slightly different vocabularies. `fixture` therefore uses this committed
# file (like mBERT's own fixed vocab.txt); `train-tokenizer` rewrites it.
VOCAB_FILE = Path(__file__).resolve().parent.parent / "vocab" / "vocab.txt"

SPECIAL_TOKENS = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SPECIAL_IDS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
TRAIN_VOCAB_SIZE = 8000
REAL_VOCAB_SIZE = 119547  # bert-base-multilingual-cased


def _ranges(*pairs: tuple[int, int]) -> list[str]:
    out: list[str] = []
    for lo, hi in pairs:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if ch.isprintable() and not ch.isspace():
                out.append(ch)
    return out


# Characters guaranteed a vocab entry even if the corpus lacks them.
ALPHABET = _ranges(
    (0x21, 0x7E),  # ASCII printable
    (0xA1, 0xAC), (0xAE, 0x17F),  # Latin-1 supplement + Latin Extended-A (accented letters)
    (0x0621, 0x064A), (0x0660, 0x0669),  # Arabic letters and Arabic-Indic digits
    (0x064B, 0x0652),  # Arabic harakat
    (0x0900, 0x097F),  # Devanagari
    (0x3001, 0x303F), (0x3041, 0x3096), (0x30A1, 0x30FC),  # CJK punct., hiragana, katakana
    (0xFF01, 0xFF5E), (0xFF61, 0xFF9F),  # full-width ASCII, half-width katakana
    (0x2010, 0x2027), (0x20A0, 0x20BF),  # general punctuation, currency
    (0x1F600, 0x1F64F), (0x2764, 0x2764),  # emoticons, heart
)

# Extra project-written text: no script beyond the corpus, just more word
# material so common words get whole-word pieces.
EXTRA_TEXT = [
    "good bad great terrible okay love hate happy sad angry amazing awful nice cool boring",
    "gut schlecht toll schrecklich bueno malo genial horrible bon mauvais super nul",
    "buono cattivo bello brutto bom mau ótimo péssimo bagus jelek baik buruk sedap teruk",
    "جيد سيء رائع ممتاز حزين سعيد غاضب جميل",
    "अच्छा बुरा शानदार बेकार खुश दुखी गुस्सा सुंदर",
    "良い 悪い 最高 最悪 嬉しい 悲しい 好 坏 棒 差 开心 难过 生气",
]


def training_texts() -> list[str]:
    return [r["text"] for r in records() if r["text"] != UNTRAINED_SCRIPTS_TEXT] + EXTRA_TEXT


def _pipeline(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def train_vocab(vocab_size: int = TRAIN_VOCAB_SIZE) -> dict[str, int]:
    tok = _pipeline(Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##")))
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=ALPHABET,
        limit_alphabet=len(ALPHABET) + 5000,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    tok.train_from_iterator(training_texts(), trainer=trainer)
    vocab = tok.get_vocab()
    for t, i in SPECIAL_IDS.items():
        assert vocab[t] == i, (t, vocab[t])
    # order by id; ids are dense 0..n-1
    ordered = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    assert list(ordered.values()) == list(range(len(ordered)))
    return ordered


def write_vocab_file(vocab: dict[str, int], path: Path = VOCAB_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    toks = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    assert all("\n" not in t and "\r" not in t for t in toks)
    path.write_text("".join(t + "\n" for t in toks), encoding="utf-8")


def read_vocab_file(path: Path = VOCAB_FILE) -> dict[str, int]:
    toks = path.read_text(encoding="utf-8").split("\n")
    assert toks[-1] == ""
    vocab = {t: i for i, t in enumerate(toks[:-1])}
    assert len(vocab) == len(toks) - 1, "duplicate token in vocab file"
    for t, i in SPECIAL_IDS.items():
        assert vocab[t] == i, (t, vocab.get(t))
    return vocab


def pad_vocab(vocab: dict[str, int], size: int = REAL_VOCAB_SIZE) -> dict[str, int]:
    """Append unreachable filler entries ('[unusedN]': '[' is always split off by
    BertPreTokenizer) so the embedding matrix has the real size."""
    out = dict(vocab)
    n = 100
    while len(out) < size:
        name = f"[unused{n}]"
        n += 1
        if name not in out:
            out[name] = len(out)
    return out


def build_tokenizer(vocab: dict[str, int]):
    from transformers import DistilBertTokenizerFast

    tok = DistilBertTokenizerFast(
        vocab=vocab,
        do_lower_case=False,
        tokenize_chinese_chars=True,
        strip_accents=None,
        model_max_length=512,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
    )
    assert tok.cls_token_id == 101 and tok.sep_token_id == 102 and tok.pad_token_id == 0
    return tok
