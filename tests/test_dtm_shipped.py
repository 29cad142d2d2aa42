"""Shipped DTM files: the same model gives the same bytes, a changed file is refused, hostile files get ValueError."""

import io
import os
import zipfile

import numpy as np
import pytest

from thermoref.dtm import DTM, SHIPPED, flip_schedule, load_dtm, save_dtm


def _model(seed=0):
    rng = np.random.default_rng(seed)
    z = DTM.zeros(4, flip_schedule(3, 0.05))
    return DTM(4, z.edges, rng.normal(size=z.weights.shape), rng.normal(size=z.biases.shape), z.flip)


def test_round_trip_is_exact_and_bytes_are_reproducible(tmp_path):
    dtm = _model()
    hist = {"autocorrelation": np.linspace(0, 1, 12).reshape(4, 3)}
    a = save_dtm(tmp_path / "a.npz", dtm, name="m", recipe={"seed": 3, "command": "x"}, history=hist)
    b = save_dtm(tmp_path / "b.npz", dtm, name="m", recipe={"command": "x", "seed": 3}, history=hist)
    assert a == b and (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back, meta = load_dtm(path=tmp_path / "a.npz", sha256=a, metadata=True)
    for f in ("edges", "weights", "biases", "flip"):
        assert np.array_equal(getattr(back, f), getattr(dtm, f))
    assert back.side == 4 and meta["recipe"] == {"seed": 3, "command": "x"} and meta["name"] == "m"
    assert np.array_equal(meta["history"]["autocorrelation"], hist["autocorrelation"])
    c = save_dtm(tmp_path / "c.npz", _model(1), name="m", recipe={"seed": 3, "command": "x"}, history=hist)
    assert c != a


def test_a_changed_file_is_refused_before_parsing(tmp_path):
    digest = save_dtm(tmp_path / "a.npz", _model(), name="m", recipe={})
    data = bytearray((tmp_path / "a.npz").read_bytes())
    data[-30] ^= 1
    (tmp_path / "a.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="^path: sha256 of"):
        load_dtm(path=tmp_path / "a.npz", sha256=digest)


def _archive(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            b = io.BytesIO(); np.save(b, v); zf.writestr(k + ".npy", b.getvalue())
    return buf.getvalue()


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("weights"), "missing"),
    (lambda m: m.update(extra=np.zeros(2)), "unexpected member"),
    (lambda m: m.update(format=np.array("other/1")), "format"),
    (lambda m: m.update(weights=np.zeros((3, 5))), "stored model is invalid"),
    (lambda m: m.update(edges=np.zeros((42, 2))), "dtype"),
    (lambda m: m.update(recipe=np.array("{not json")), "not JSON"),
    (lambda m: m.update(**{"history.x": np.array(["a"])}), "finite floats"),
])
def test_hostile_files_get_a_value_error(tmp_path, change, message):
    dtm = _model()
    members = {"format": np.array("thermoref.dtm.model/1"), "name": np.array("m"), "recipe": np.array("{}"),
               "side": np.array(4), "edges": dtm.edges, "weights": dtm.weights, "biases": dtm.biases,
               "flip": dtm.flip}
    change(members)
    (tmp_path / "h.npz").write_bytes(_archive(members))
    with pytest.raises(ValueError, match=f"^path: .*{message}"):
        load_dtm(path=tmp_path / "h.npz")
    (tmp_path / "z.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="^path: not a model file"):
        load_dtm(path=tmp_path / "z.npz")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_models_load_and_match_their_digest(name):
    dtm, meta = load_dtm(name, metadata=True)
    assert meta["name"] == name and "command" in meta["recipe"]
    assert dtm.side * dtm.side == dtm.n and dtm.T == len(dtm.flip)


def test_name_and_path_are_exclusive(tmp_path):
    with pytest.raises(ValueError, match="^name: give exactly one"):
        load_dtm()
    with pytest.raises(ValueError, match="^name: unknown model"):
        load_dtm("no-such-model")
