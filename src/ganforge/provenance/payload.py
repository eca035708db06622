"""The watermark's 48-bit payload: who wrote an image (ganforge), with which model, in which month.

48 coded bits = two extended Golay [24, 12, 8] codewords carrying 24 data bits: an 8-bit project tag (known to
every checker, so it is what says "ours"), an 8-bit model fingerprint and an 8-bit month counter (months since
January 2025, wrapping after 21 years). The codeword is XORed with a fixed key so that an unmarked image's noise
does not look like a codeword of zeros. Decoding is maximum-likelihood by brute force (16 codewords carry our tag
in the first block, 4,096 in the second), and an image is called marked when its decoded bits lie within
`MAX_BIT_ERRORS` of a codeword with our tag; `false_positive_rate` gives that decision's chance on random bits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from functools import cache

import numpy as np

N_BITS = 48
PROJECT_TAG = 0xA7  # ganforge's identifier, the same in every mark
MAX_BIT_ERRORS = 3  # a decoded word this close to one of ours counts as marked (false-positive rate below 1e-4)
EPOCH = (2025, 1)  # month 0 of the month counter

# The extended binary Golay code's parity matrix (MacWilliams & Sloane): codeword = [data | data @ B] (mod 2).
_GOLAY_B = np.array([[int(c) for c in row] for row in (
    "110111000101", "101110001011", "011100010111", "111000101101", "110001011011", "100010110111",
    "000101101111", "001011011101", "010110111001", "101101110001", "011011100011", "111111111110")],
    dtype=np.uint8)
_KEY = np.unpackbits(np.frombuffer(hashlib.sha256(b"ganforge watermark key v1").digest()[:6], np.uint8))


@dataclass(frozen=True)
class Payload:
    """What a mark says: an 8-bit fingerprint of the model and the month it was written (0 = January 2025)."""

    model_fingerprint: int
    month: int

    @classmethod
    def for_model(cls, model_id: str, when: dt.datetime | None = None) -> Payload:
        """The payload for a model named or hashed by `model_id`, written now (or at `when`)."""
        return cls(model_fingerprint(model_id), month_index(when or dt.datetime.now(dt.timezone.utc)))

    def month_label(self) -> str:
        """The month as YYYY-MM, read modulo the counter's 21-year wrap from the epoch."""
        year, month = divmod(EPOCH[0] * 12 + EPOCH[1] - 1 + self.month, 12)
        return f"{year:04d}-{month + 1:02d}"


def model_fingerprint(model_id: str) -> int:
    """8 bits of SHA-256 of a model's hash or name: enough to tell models apart in a small set, not to prove one."""
    return hashlib.sha256(model_id.encode("utf-8")).digest()[0]


def month_index(when: dt.datetime) -> int:
    """Months since January 2025, modulo 256."""
    return ((when.year - EPOCH[0]) * 12 + when.month - EPOCH[1]) % 256


def _bits(value: int, n: int) -> np.ndarray:
    return np.array([(value >> (n - 1 - i)) & 1 for i in range(n)], dtype=np.uint8)


def _value(bits: np.ndarray) -> int:
    return int("".join(str(int(b)) for b in bits), 2)


def golay_encode(data: np.ndarray) -> np.ndarray:
    """12 data bits -> a 24-bit extended Golay codeword (minimum distance 8)."""
    data = np.asarray(data, dtype=np.uint8)
    return np.concatenate([data, (data @ _GOLAY_B) % 2]).astype(np.uint8)


@cache
def _codebook() -> np.ndarray:
    """All 4,096 Golay codewords, [4096, 24]."""
    data = ((np.arange(4096)[:, None] >> np.arange(11, -1, -1)) & 1).astype(np.uint8)
    return np.concatenate([data, (data @ _GOLAY_B) % 2], axis=1).astype(np.uint8)


def encode(payload: Payload) -> np.ndarray:
    """The 48 bits an image carries for `payload` (uint8 0/1)."""
    if not (0 <= payload.model_fingerprint < 256 and 0 <= payload.month < 256):
        raise ValueError(f"payload fields must be 8-bit, got {payload}")
    data = np.concatenate([_bits(PROJECT_TAG, 8), _bits(payload.model_fingerprint, 8), _bits(payload.month, 8)])
    return np.concatenate([golay_encode(data[:12]), golay_encode(data[12:])]) ^ _KEY


@dataclass(frozen=True)
class Decoded:
    """The nearest of our codewords to a decoded word: its payload, the bit errors and whether that says marked."""

    payload: Payload
    bit_errors: int
    marked: bool

    @property
    def bit_matches(self) -> int:
        return N_BITS - self.bit_errors


def decode(bits: np.ndarray, max_errors: int = MAX_BIT_ERRORS) -> Decoded:
    """Maximum-likelihood decoding of 48 hard bits, among the codewords that carry our project tag."""
    bits = np.asarray(bits, dtype=np.uint8).reshape(N_BITS) ^ _KEY
    book = _codebook()
    ours = book[_value_rows(book[:, :8]) == PROJECT_TAG]  # the 16 first-block codewords with our tag
    d1 = (ours != bits[:24]).sum(axis=1)
    d2 = (book != bits[24:]).sum(axis=1)
    first, second = ours[int(d1.argmin())], book[int(d2.argmin())]
    errors = int(d1.min() + d2.min())
    data = np.concatenate([first[:12], second[:12]])
    payload = Payload(_value(data[8:16]), _value(data[16:24]))
    return Decoded(payload, errors, errors <= max_errors)


def _value_rows(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.int64) * (1 << np.arange(bits.shape[1] - 1, -1, -1))).sum(axis=1)


def best_of(words: list[np.ndarray], max_errors: int = MAX_BIT_ERRORS) -> tuple[int, Decoded]:
    """Which of several readings of one image (its alignments) decodes closest to a codeword, and that decoding."""
    decodings = [decode(w, max_errors) for w in words]
    best = min(range(len(decodings)), key=lambda k: decodings[k].bit_errors)
    return best, decodings[best]


@cache
def false_positive_rate(max_errors: int = MAX_BIT_ERRORS, readings: int = 1) -> float:
    """Chance that an unmarked image decodes as marked when each of `readings` readings is 48 fair coin flips.

    A union bound over the readings and the codewords; for one reading it is exact up to 3 errors.

    The first block must lie within k of one of our 16 tagged codewords (balls of radius 3 do not overlap at minimum
    distance 8), the second within max_errors - k of any codeword (Golay's coset-leader weights 1, 24, 276, 2024,
    1771 out of 4,096).
    """
    leaders = [1, 24, 276, 2024, 1771]
    second_within = np.cumsum(leaders) / 4096.0
    total = 0.0
    for k in range(max_errors + 1):
        rest = max_errors - k
        p_second = 1.0 if rest >= 4 else float(second_within[rest])
        total += 16 * math.comb(24, k) / 2**24 * p_second
    return min(readings * total, 1.0)
