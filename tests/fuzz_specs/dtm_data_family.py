"""Specs: thermoref.dtm data families and exact quality measures (chapter 12, modules data.py and quality.py).

Names are registered at their documented home: ``thermoref.dtm.<name>`` once the subpackage exports them,
``thermoref.dtm.data.<name>`` / ``thermoref.dtm.quality.<name>`` before that.
"""

import importlib

import numpy as np

from . import spec


def _home(module: str, name: str) -> str:
    dtm = importlib.import_module("thermoref.dtm")
    return f"thermoref.dtm.{name}" if name in getattr(dtm, "__all__", ()) else f"thermoref.dtm.{module}.{name}"


def _bas3():
    from thermoref.dtm.data import bars_and_stripes

    return bars_and_stripes(3)


_FAM = _bas3()
_X = np.array([[1, 1, 1, 0, 0, 0, 1, 1, 1],   # a member (stripes)
               [1, 0, 1, 1, 0, 1, 1, 0, 1],   # a member (bars)
               [1, 1, 1, 0, 1, 0, 1, 1, 1],   # one pixel off
               [1, 0, 0, 0, 1, 0, 0, 0, 1]], dtype=np.int8)  # (4, 9)
_SUPPORT = np.array([[0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0, 1, 0, 0]],
                    dtype=np.int8)  # (3, 9)

# ---------------------------------------------------------------- data.py
# side and support are a shape pair: a side that does not match the support's n = side**2 columns is
# reported as the support's mismatch with it.
spec(_home("data", "ImageFamily"),
     args=dict(name="three images", side=3, support=_SUPPORT, probs=np.array([0.5, 0.25, 0.25])),
     blame={"side": ("support",)},
     extra={"support": [("repeated image", _SUPPORT[[0, 0, 1]]), ("pixel 2", _SUPPORT + 1)],
            "probs": [("sum 0.9", np.array([0.4, 0.25, 0.25])), ("a zero", np.array([0.75, 0.25, 0.0])),
                      ("a negative", np.array([1.25, -0.25, 0.0]))]})
spec(_home("data", "ImageFamily") + ".sample", make=_bas3, args=dict(n_images=5, rng=0))
spec(_home("data", "bars_and_stripes"), args=dict(side=3), extra={"side": [("side 15 (support too large)", 15)]})
spec(_home("data", "shapes"), args=dict(side=4, kinds=("rectangles", "bars")),
     extra={"kinds": [("unknown kind", ("circles",)), ("empty", ()), ("repeated", ("bars", "bars")),
                      ("bare string", "bars"), ("ints", (1, 2))],
            "side": [("side 2", 2), ("side 21 (support too large)", 21)]})
spec(_home("data", "image_family"), args=dict(name="shapes", side=4))
spec(_home("data", "make_dataset"), args=dict(family=_FAM, n_train=5, n_test=3, rng=0))

# ---------------------------------------------------------------- quality.py
_WRONG_N = [("images of side 2", np.zeros((3, 4), dtype=np.int8))]
spec(_home("quality", "WithinRadius"), result_type=True)
spec(_home("quality", "MMDTest"), result_type=True)
spec(_home("quality", "PatchTest"), result_type=True)
spec(_home("quality", "hamming_to_support"), args=dict(samples=_X, family=_FAM), extra={"samples": _WRONG_N})
spec(_home("quality", "fraction_within"), args=dict(samples=_X, family=_FAM, radius=1, confidence=0.9),
     extra={"samples": _WRONG_N})
spec(_home("quality", "pixel_marginal_error"), args=dict(samples=_X, family=_FAM), extra={"samples": _WRONG_N})
spec(_home("quality", "mmd_squared"), args=dict(samples=_X, family=_FAM, ell=2.0),
     extra={"samples": _WRONG_N + [("one image", _X[:1])]})
spec(_home("quality", "mmd_test"), args=dict(samples=_X, family=_FAM, ell=2.0, n_null=9, rng=0),
     extra={"samples": _WRONG_N + [("two images", _X[:2])]})
spec(_home("quality", "patch_law"), args=dict(family=_FAM, k=2), extra={"k": [("k above the side", 4)]})
spec(_home("quality", "patch_test"), args=dict(samples=_X, family=_FAM, k=2, n_null=9, rng=0),
     extra={"samples": _WRONG_N, "k": [("k above the side", 4)]})
