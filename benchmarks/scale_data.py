"""Generated eval sets for the scale benchmark (benchmarks/bench_scale.py) and the engine's
equality test: text as varied as real model outputs, written as the files source reads them.

The text is cut from one generated corpus (a 40,000-word vocabulary with Zipf frequencies,
capitals, punctuation, numbers and some non-ASCII words), each row a run of whole words
starting at a random word: no two rows share a text unless they are meant to (the candidate's
unchanged outputs). Inputs ~80 characters, outputs ~100, references ~100, 30% of the
candidate's outputs differ (half a small edit of the baseline's, half another text). Built
with numpy over whole buffers: 10M rows take seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

VOCAB = 40_000
CORPUS_WORDS = 4_000_000

POLICY = """
[[eval_sets]]
name = "support"
samples = "evals/support.parquet"
predictions = "predictions/support.parquet"
slices = ["topic"]

[policy]
required = { sme = 1 }

[roles]
sme = ["alice@example.com"]
"""

_LETTERS = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
_ACCENTED = ["café", "naïve", "façade", "Zürich", "größe", "señor", "déjà", "über", "fiancée", "niño",
             "東京", "данные", "ελλάδα", "😀", "→", "€"]


def _vocabulary(rng: np.random.Generator) -> list[bytes]:
    lengths = np.clip(rng.poisson(5, VOCAB) + 1, 1, 14)
    weights = 1.0 / np.arange(1, len(_LETTERS) + 1)
    letters = rng.choice(_LETTERS, size=int(lengths.sum()), p=weights / weights.sum())
    words, at = [], 0
    for n in lengths:
        words.append(letters[at:at + n].tobytes())
        at += n
    for i, w in enumerate(_ACCENTED):   # rare but present: multi-byte UTF-8 inside words
        words[VOCAB // 3 + i * 97] = w.encode()
    return words


def _gather(pieces: np.ndarray, piece_offsets: np.ndarray, pick: np.ndarray, sep: int | None) -> np.ndarray:
    """The bytes of pieces[pick[0]], pieces[pick[1]], ... (each followed by `sep`), by one numpy gather."""
    starts, sizes = piece_offsets[pick], np.diff(piece_offsets)[pick] + (sep is not None)
    out_offsets = np.zeros(len(pick) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out_offsets[1:])
    idx = np.repeat(starts - out_offsets[:-1], sizes) + np.arange(out_offsets[-1], dtype=np.int64)
    if sep is None:
        return pieces[idx]
    padded = np.append(pieces, np.uint8(sep))
    idx[out_offsets[1:] - 1] = len(pieces)   # the separator after each piece
    return padded[idx]


def corpus(seed: int = 11) -> np.ndarray:
    """The generated text as bytes (uint8), words separated by single spaces, starting with one."""
    rng = np.random.default_rng(seed)
    words = _vocabulary(rng)
    numbers = [str(i).encode() for i in range(5000)]
    # Each word plain, capitalised, with a comma, with a full stop; then the numbers.
    variants = words + [w[:1].upper() + w[1:] for w in words] + [w + b"," for w in words] + [w + b"." for w in words]
    vocab = variants + numbers
    pieces = np.frombuffer(b"".join(vocab), dtype=np.uint8)
    offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in vocab], out=offsets[1:])
    ranks = rng.zipf(1.15, CORPUS_WORDS) - 1
    ranks = ranks[ranks < VOCAB]
    decor = rng.random(len(ranks))
    pick = np.where(decor < 0.06, ranks + VOCAB, np.where(decor < 0.10, ranks + 2 * VOCAB,
                    np.where(decor < 0.13, ranks + 3 * VOCAB, ranks)))
    pick = np.where(decor > 0.985, 4 * VOCAB + rng.integers(0, len(numbers), len(ranks)), pick)
    return np.concatenate([np.array([ord(" ")], dtype=np.uint8), _gather(pieces, offsets, pick, ord(" "))])


def _texts(rng: np.random.Generator, text: np.ndarray, spaces: np.ndarray, n: int, mean: int) -> pa.Array:
    """n texts of about `mean` characters: runs of whole words from random places of `text`."""
    lengths = np.maximum(8, rng.normal(mean, mean / 3, n)).astype(np.int64)
    first = rng.integers(0, len(spaces) - 64 - mean // 2, n)
    start = spaces[first] + 1
    end_space = np.searchsorted(spaces, start + lengths)
    end_space = np.minimum(end_space, len(spaces) - 1)
    end = spaces[end_space]
    size = end - start
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(size, out=offsets[1:])
    idx = np.repeat(start - offsets[:-1], size) + np.arange(offsets[-1], dtype=np.int64)
    data = text[idx]
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


def _ids(n: int, width: int = 9) -> pa.Array:
    """s00000000, s00000001, ...: built as bytes, in id order."""
    digits = np.arange(n, dtype=np.int64)[:, None] // (10 ** np.arange(width - 2, -1, -1, dtype=np.int64)) % 10
    data = np.empty((n, width), dtype=np.uint8)
    data[:, 0] = ord("s")
    data[:, 1:] = digits + ord("0")
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def generate(n: int, seed: int = 7, *, changed: float = 0.3) -> dict[str, pa.Table]:
    """samples (id, input, reference, topic), baseline and candidate (id, output, score)."""
    rng = np.random.default_rng(seed)
    text = corpus()
    spaces = np.flatnonzero(text == ord(" "))
    ids = _ids(n)
    inputs = _texts(rng, text, spaces, n, 80)
    reference = _texts(rng, text, spaces, n, 100)
    base = _texts(rng, text, spaces, n, 100)
    other = _texts(rng, text, spaces, n, 100)
    change = rng.random(n) < changed
    edit = change & (rng.random(n) < 0.5)
    edited = pa.compute.binary_join_element_wise(base, pa.array(np.where(edit, "also", "")), " ")
    cand = pa.compute.if_else(pa.array(edit), edited, pa.compute.if_else(pa.array(change), other, base))
    bscore = rng.random(n).round(3)
    cscore = np.where(change, rng.random(n).round(3), bscore)
    topics = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 4, n).astype(np.int32)),
                                            pa.array(["billing", "shipping", "account", "returns"])).cast(pa.string())
    return {"samples": pa.table({"id": ids, "input": inputs, "reference": reference, "topic": topics}),
            "baseline": pa.table({"id": ids, "output": base, "score": bscore}),
            "candidate": pa.table({"id": ids, "output": cand, "score": cscore})}


def write_workspace(root: Path, tables: dict[str, pa.Table]) -> Path:
    """The files source's layout: ROOT/signoff.toml, ROOT/evals/, ROOT/base/predictions/, ROOT/cand/predictions/."""
    root = Path(root)
    for rel, key in (("evals/support.parquet", "samples"), ("base/predictions/support.parquet", "baseline"),
                     ("cand/predictions/support.parquet", "candidate")):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(tables[key], path)
    (root / "signoff.toml").write_text(POLICY)
    return root
