"""Model cards: the installed weights are found, hashed, and anything else is refused (issue 14)."""

import dataclasses
import hashlib

import pytest

from thermoref.pretrained import MINILM, SMOLLM2, file_sha256, model_dir, verified_file


def _tiny_card(tmp_path, content: bytes):
    (tmp_path / "w.bin").write_bytes(content)
    return dataclasses.replace(MINILM, weights="w.bin", sha256=hashlib.sha256(content).hexdigest())


def test_installed_weights_have_the_cards_hashes():
    # the oracle is the hash written in the issue / TOOLCHAIN.md, typed into the cards once
    for card in (MINILM, SMOLLM2):
        assert verified_file(card).is_file()
        assert model_dir(card).name == card.module


def test_file_sha256_against_hashlib(tmp_path):
    data = bytes(range(256)) * 5000  # > 1 MiB: crosses a chunk boundary
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_directory_and_file_paths_and_a_tampered_file(tmp_path):
    card = _tiny_card(tmp_path, b"weights")
    assert verified_file(card, tmp_path) == tmp_path / "w.bin"
    assert verified_file(card, tmp_path / "w.bin") == tmp_path / "w.bin"
    (tmp_path / "w.bin").write_bytes(b"weightz")  # one byte changed
    with pytest.raises(ValueError, match=r"^path: .*sha256"):
        verified_file(card, tmp_path)
    assert verified_file(card, tmp_path, sha256=None) == tmp_path / "w.bin"  # the caller's own weights
    with pytest.raises(ValueError, match=r"^path: .*sha256"):
        verified_file(card, tmp_path, sha256="0" * 64)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="^path: .* holds no w.bin"):
        verified_file(_tiny_card(tmp_path / "..", b"x"), tmp_path)
    with pytest.raises(ValueError, match="^path: .* does not exist"):
        verified_file(MINILM, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="^sha256: "):
        verified_file(MINILM, sha256="abc")
    with pytest.raises(TypeError, match="^card: "):
        verified_file("MINILM")
    not_installed = dataclasses.replace(MINILM, module="thermoref_no_such_weights_package")
    with pytest.raises(FileNotFoundError, match="requirements-weights.txt"):
        model_dir(not_installed)
