r"""Real pretrained transformers in NumPy: file readers, tokenizers, BERT and LLaMA forwards (chapter 11).

References: Devlin, J. et al. (2019) "BERT", NAACL, arXiv:1810.04805; Touvron, H. et al. (2023) "LLaMA",
arXiv:2302.13971.
"""

from . import cards
from .cards import MINILM, SMOLLM2, ModelCard, file_sha256, model_dir, verified_file

__all__ = ["cards", "ModelCard", "MINILM", "SMOLLM2", "model_dir", "file_sha256", "verified_file"]
