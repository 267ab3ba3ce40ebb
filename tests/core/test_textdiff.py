"""Word-level text diff and visible invisibles (app/core/textdiff.py)."""

from __future__ import annotations

import random
import time

import pytest

from signoff.core.textdiff import diff_words, has_hidden_characters, make_visible, tokenize


def sides(d):
    return "".join(s.text for s in d.baseline), "".join(s.text for s in d.candidate)


def changes(spans):
    return [s.text for s in spans if s.op != "equal"]


@pytest.mark.parametrize("text", ["", "a", "Hello, world!", "  two  spaces\tand\ttabs\n\nnew lines ",
                                  "émoji 👍🏽 and 中文字符 and عربي", "x\u200by\u202ez", "a\r\nb"])
def test_tokens_join_back_exactly(text):
    assert "".join(tokenize(text)) == text


def test_tokens_split_words_whitespace_punctuation():
    assert tokenize("Hi,  you!") == ["Hi", ",", "  ", "you", "!"]


def test_equal_texts_are_one_equal_span():
    d = diff_words("same text", "same text")
    assert [(s.op, s.text) for s in d.baseline] == [("equal", "same text")]
    assert not d.changed


def test_word_change_is_marked_on_both_sides():
    d = diff_words("The refund was sent today.", "The refund has been sent today!")
    assert sides(d) == ("The refund was sent today.", "The refund has been sent today!")
    assert {s.op for s in d.baseline} <= {"equal", "delete"}
    assert {s.op for s in d.candidate} <= {"equal", "insert"}
    assert "was" in "".join(changes(d.baseline))
    assert "has been" in "".join(changes(d.candidate))
    assert "refund" not in "".join(changes(d.baseline) + changes(d.candidate))
    assert changes(d.baseline)[-1] == "." and changes(d.candidate)[-1] == "!"


def test_only_insert_or_only_delete():
    d = diff_words("", "new")
    assert [(s.op, s.text) for s in d.candidate] == [("insert", "new")]
    assert d.baseline == []
    d = diff_words("old", None)
    assert [(s.op, s.text) for s in d.baseline] == [("delete", "old")]


def test_whitespace_change_is_a_difference():
    d = diff_words("a b", "a  b")
    assert changes(d.baseline) == [" "] and changes(d.candidate) == ["  "]


def test_multiline_changes_stay_on_their_lines():
    a = "".join(f"line {i} is here\n" for i in range(50))
    b = a.replace("line 7 is here", "line 7 is there").replace("line 30 is here\n", "")
    d = diff_words(a, b)
    assert sides(d) == (a, b)
    assert changes(d.candidate) == ["there"]
    assert "here" in changes(d.baseline)
    assert any("line 30" in t for t in changes(d.baseline))


def test_right_to_left_and_combining_text_round_trip():
    a, b = "مرحبا بالعالم", "مرحبا يا عالم"
    d = diff_words(a, b)
    assert sides(d) == (a, b)
    assert "مرحبا" not in "".join(changes(d.baseline))


def _prose(rng, n):
    vocab = [f"w{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(3000)]
    words = rng.choices(vocab, weights, k=n)
    return " ".join(w + ("." if i % 17 == 16 else "") + ("\n" if i % 60 == 59 else "") for i, w in enumerate(words))


@pytest.mark.parametrize("case", ["few edits", "all different", "one long line"])
def test_long_texts_are_fast_and_exact(case):
    rng = random.Random(7)
    a = _prose(rng, 3500)  # ~20 KB
    if case == "few edits":
        words = a.split(" ")
        for i in range(0, len(words), 200):
            words[i] = "CHANGED"
        b = " ".join(words)
    elif case == "all different":
        b = _prose(rng, 3500)
    else:
        a = a.replace("\n", " ")
        b = a.replace("w1 ", "w2 ", 5)
    diff_words(a, b)  # warm up
    t = time.perf_counter()
    d = diff_words(a, b)
    elapsed = time.perf_counter() - t
    assert sides(d) == (a, b)
    assert elapsed < 0.5, elapsed  # ~50 ms budget; generous for loaded CI machines
    if case == "few edits":
        assert changes(d.candidate).count("CHANGED") >= 15


def test_pathological_repetition_still_terminates_quickly():
    a, b = "a " * 10000, "a " * 9000 + "b " * 1000
    t = time.perf_counter()
    d = diff_words(a, b)
    assert time.perf_counter() - t < 1.0
    assert sides(d) == (a, b)


def test_make_visible_whitespace():
    assert make_visible("a b\tc\nd", whitespace=True) == "a·b→c↵\nd"
    assert make_visible("a b\tc\nd") == "a b\tc\nd"


def test_make_visible_bidi_controls_always_by_default():
    assert make_visible("abc\u202edef\u202c") == "abc⟨RLO⟩def⟨PDF⟩"
    assert make_visible("abc\u202edef", bidi=False) == "abc\u202edef"


def test_make_visible_invisibles():
    text = "a\u200bb\u200dc\ufeffd\x07e"
    assert make_visible(text) == text
    assert make_visible(text, invisibles=True) == "a⟨ZWSP⟩b⟨ZWJ⟩c⟨BOM⟩d⟨U+0007⟩e"


def test_has_hidden_characters():
    assert has_hidden_characters("x\u200by")
    assert has_hidden_characters("x\u202ey")
    assert not has_hidden_characters("plain text\nwith lines\tand tabs")
