"""Text-to-image pipeline: sentences in, images out; each image's noise comes from its own seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganforge.errors import GanforgeError
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type, component, config_value
from ganforge.tasks.image.pipeline import latent_for_seed

MAX_PROMPT_CHARS = 1000  # the encoder reads 128 tokens; far longer input is a mistake, not a caption


def check_prompts(prompts: str | Sequence[str]) -> list[str]:
    """A list of non-empty sentences; GanforgeError for anything else."""
    listed = [prompts] if isinstance(prompts, str) else list(prompts)
    if not listed:
        raise GanforgeError("give at least one sentence, e.g. \"a red heart\"")
    for text in listed:
        if not isinstance(text, str) or not text.strip():
            raise GanforgeError(f"each prompt must be a non-empty sentence, got {text!r}")
        if len(text) > MAX_PROMPT_CHARS:
            raise GanforgeError(f"a prompt of {len(text)} characters is too long (at most {MAX_PROMPT_CHARS})")
    return [t.strip() for t in listed]


@PIPELINES.register("text2image")
class Text2ImagePipeline(Pipeline):
    """`pipe(["a red heart", "a cat face"], seed=0)`: one image per sentence; `n=` images of each (seeds seed,
    seed + 1, ... in order, sentence by sentence); `seeds=` one per output image. Eval mode, no grad."""

    generator = component("generator")
    z_dim = config_value("z_dim", int)

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        example = (torch.randn(2, self.z_dim), torch.randn(2, int(self.config["text_encoder"]["dim"])))
        return {"generator": OnnxGraph(self.generator, example, ("z", "sentence"), ("image",),
                                       {"z": {0: "batch"}, "sentence": {0: "batch"}}, tolerance=2e-4)}

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxFeed

        return {"generator": OnnxFeed(lambda z, sentence: {"z": z, "sentence": sentence})}

    def encoder(self) -> Any:
        """The sentence encoder the model was trained with (checked by its weights' hash)."""
        from ganforge.text.encoder import WEIGHTS_SHA256, shared_encoder

        wanted = self.config.get("text_encoder", {}).get("sha256")
        if wanted != WEIGHTS_SHA256:
            raise GanforgeError(f"this model was trained with another sentence encoder (sha256 {str(wanted)[:16]}...); "
                                "this ganforge reads all-MiniLM-L6-v2 only")
        return shared_encoder()

    def embed(self, prompts: Sequence[str]) -> torch.Tensor:
        """[N, 384]: the sentences as the generator takes them (`sentence_condition` of their unit embeddings)."""
        from ganforge.nets.dfgan import sentence_condition

        return sentence_condition(self.encoder().encode(list(prompts)))

    @torch.no_grad()
    def generate(self, latents: torch.Tensor, sentences: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Images [N, C, H, W] in [-1, 1] for latents [N, z_dim] and sentences [N, 384] (`embed`), in batches."""
        outs = []
        for i in range(0, latents.shape[0], batch_size):
            z = latents[i : i + batch_size].to(self.device)
            s = sentences[i : i + batch_size].to(self.device)
            outs.append(self.generator(z, s).float().clamp(-1, 1).cpu())
        return torch.cat(outs)

    def __call__(
        self,
        prompts: str | Sequence[str],
        n: int = 1,
        seed: int = 0,
        seeds: Sequence[int] | None = None,
        output_type: str = "pil",
        batch_size: int = 64,
    ) -> Any:
        check_output_type(output_type)
        texts = check_prompts(prompts)
        if n < 1:
            raise GanforgeError(f"n (images per sentence) must be at least 1, got {n}")
        per_image = [t for t in texts for _ in range(n)]
        seeds = list(range(seed, seed + len(per_image))) if seeds is None else [int(s) for s in seeds]
        if len(seeds) != len(per_image):
            raise GanforgeError(f"give one seed per image: {len(per_image)} images ({len(texts)} sentences x {n}), "
                                f"got {len(seeds)} seeds")
        unique = list(dict.fromkeys(per_image))
        table = self.embed(unique)
        sentences = table[[unique.index(t) for t in per_image]]
        latents = torch.stack([latent_for_seed(s, self.z_dim) for s in seeds])
        return self.format_output(self.generate(latents, sentences, batch_size), output_type)
