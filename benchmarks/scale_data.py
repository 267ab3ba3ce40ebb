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


def corpus(seed: int = 11) -> np.ndarray:
    """The generated text as bytes (uint8), words separated by single spaces, starting with one."""
    rng = np.random.default_rng(seed)
    words = _vocabulary(rng)
    ranks = rng.zipf(1.15, CORPUS_WORDS) - 1
    ranks = ranks[ranks < VOCAB]
    out = []
    decor = rng.random(len(ranks))
    for r, d in zip(ranks.tolist(), decor.tolist()):
        w = words[r]
        if d < 0.06:
            w = w[:1].upper() + w[1:]
        elif d < 0.10:
            w = w + b","
        elif d < 0.13:
            w = w + b"."
        elif d < 0.145:
            w = str(int(d * 1e6) % 5000).encode()
        out.append(w)
    return np.frombuffer(b" " + b" ".join(out) + b" ", dtype=np.uint8)


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


def generate(n: int, seed: int = 7, *, changed: float = 0.3) -> dict[str, pa.Table]:
    """samples (id, input, reference, topic), baseline and candidate (id, output, score)."""
    rng = np.random.default_rng(seed)
    text = corpus()
    spaces = np.flatnonzero(text == ord(" "))
    ids = pa.array(np.char.add("s", np.char.zfill(np.arange(n).astype(str), 8)).astype(object), pa.string())
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
