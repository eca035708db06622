"""Task text2image: images from sentences, DF-GAN (one stage, text fused into every block) on an offline sentence
encoder (all-MiniLM-L6-v2)."""

from ganforge.tasks.spec import folder_spec, register_spec
from ganforge.tasks.text2image.config import Text2ImageOptions

SPEC = register_spec(folder_spec(__name__, "Images from sentences: dfgan (text fused into every block).",
                                 Text2ImageOptions))
