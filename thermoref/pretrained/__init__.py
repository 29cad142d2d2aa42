r"""Real pretrained transformers in NumPy: file readers, tokenizers, BERT and LLaMA forwards (chapter 11).

=======================================  ===============================================================
:mod:`thermoref.pretrained.cards`        where the weights come from, their licence and their SHA-256
:mod:`thermoref.pretrained.files`        the error a malformed or hostile file raises
:mod:`thermoref.pretrained.safetensors`  safetensors files, memory-mapped and zero-copy
:mod:`thermoref.pretrained.gguf`         GGUF v3 files and F32/F16/Q4_0/Q4_1/Q8_0 dequantization
:mod:`thermoref.pretrained.tokenizers`   BERT WordPiece and byte-level BPE
:mod:`thermoref.pretrained.bert`         the BERT encoder (all-MiniLM-L6-v2) with the attention seam
:mod:`thermoref.pretrained.llama`        the LLaMA decoder (SmolLM2-135M) with the seam and a KV cache
=======================================  ===============================================================

Every forward returns, on request, the per-layer, per-head :class:`thermoref.transformer.AttentionTrace` and
takes the :class:`thermoref.transformer.AttentionSeam` of chapter 8, so any head can run exact, sampled with any
backend (a :class:`thermoref.backend.SamplingUnit` included) or blended.

References: Devlin, J. et al. (2019) "BERT", NAACL, arXiv:1810.04805; Touvron, H. et al. (2023) "LLaMA",
arXiv:2302.13971.
"""

from . import bert, cards, files, gguf, llama, safetensors, tokenizers
from .bert import BertConfig, PretrainedModel, bert_forward, load_minilm, sentence_embedding
from .cards import MINILM, SMOLLM2, ModelCard, file_sha256, model_dir, verified_file
from .files import MalformedFileError
from .gguf import GGML_TYPES, GGUFFile, GGUFTensor, dequantize, read_gguf
from .llama import LlamaConfig, llama_cache, llama_forward, llama_generate, load_smollm2
from .safetensors import read_safetensors, safetensors_metadata
from .tokenizers import ByteBPETokenizer, Tokenization, WordPieceTokenizer

__all__ = [
    "bert", "cards", "files", "gguf", "llama", "safetensors", "tokenizers",
    "ModelCard", "MINILM", "SMOLLM2", "model_dir", "file_sha256", "verified_file",
    "MalformedFileError", "read_safetensors", "safetensors_metadata",
    "GGML_TYPES", "GGUFTensor", "GGUFFile", "read_gguf", "dequantize",
    "Tokenization", "WordPieceTokenizer", "ByteBPETokenizer",
    "PretrainedModel", "BertConfig", "load_minilm", "bert_forward", "sentence_embedding",
    "LlamaConfig", "load_smollm2", "llama_cache", "llama_forward", "llama_generate",
]
