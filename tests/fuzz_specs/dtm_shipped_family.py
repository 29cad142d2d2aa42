"""Specs: thermoref.dtm shipped models (issue 15, the lead's module)."""

import os
import tempfile

import numpy as np

from . import spec

_D = "thermoref.dtm."
_DIR = tempfile.mkdtemp(prefix="thermoref-dtm-spec-")
_PATH = os.path.join(_DIR, "m.npz")


def _saved():
    from thermoref.dtm import DTM, save_dtm

    return save_dtm(_PATH, DTM.zeros(3, [0.2, 0.3]), name="m", recipe={"seed": 0})


_SHA = _saved()

def _model():
    from thermoref.dtm import DTM

    return DTM.zeros(3, [0.2, 0.3])


spec(_D + "save_dtm", args=dict(path=os.path.join(_DIR, "out.npz"), dtm=_model(), name="m", recipe={"seed": 0},
                                history={"curve": np.arange(3.0)}))
spec(_D + "load_dtm", args=dict(path=_PATH, sha256=_SHA, metadata=False), skip={"name": "exclusive with path"},
     blame={"path": ("name",)})
