"""The watermark's payload code: Golay's distance, decoding through errors, and the false-positive rate it prints."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ganforge.provenance import payload as codes


def test_golay_codebook_has_minimum_distance_8():
    book = codes._codebook()
    assert book.shape == (4096, 24)
    assert int(book[1:].sum(axis=1).min()) == 8


def test_round_trip_and_up_to_three_errors_per_block_are_corrected():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = codes.Payload(int(rng.integers(256)), int(rng.integers(256)))
        word = codes.encode(p)
        assert word.shape == (48,) and set(np.unique(word)) <= {0, 1}
        noisy = word.copy()
        flips = np.concatenate([rng.choice(24, 1, replace=False), 24 + rng.choice(24, 2, replace=False)])
        noisy[flips] ^= 1
        decoded = codes.decode(noisy)
        assert decoded.payload == p and decoded.bit_errors == 3 and decoded.marked
        assert decoded.bit_matches == 45


def test_words_further_than_the_threshold_are_not_marked():
    word = codes.encode(codes.Payload(1, 2))
    word[:6] ^= 1  # six errors in the first block: nearer another codeword or too far from ours
    assert not codes.decode(word).marked


def test_false_positive_rate_matches_random_words():
    rng = np.random.default_rng(1)
    n = 4000
    hits = sum(codes.decode(rng.integers(0, 2, 48), max_errors=6).marked for _ in range(n))
    bound = codes.false_positive_rate(6)
    assert hits / n <= 2 * bound + 3 / n
    assert codes.false_positive_rate(3) < codes.false_positive_rate(4) < codes.false_positive_rate(6)
    assert codes.false_positive_rate(codes.MAX_BIT_ERRORS, readings=7) < 1e-4  # the bar: 1 in 10,000


def test_payload_for_model_is_stable_and_month_reads_back():
    when = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)
    p = codes.Payload.for_model("sha256:abc", when)
    assert p == codes.Payload.for_model("sha256:abc", when)
    assert p.month_label() == "2026-12"
    with pytest.raises(ValueError, match="8-bit"):
        codes.encode(codes.Payload(300, 0))
