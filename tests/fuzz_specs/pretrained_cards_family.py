"""Specs: thermoref.pretrained.cards (issue 14): model cards and the weights' hash check."""

from thermoref.pretrained import MINILM

from . import spec

_P = "thermoref.pretrained."

spec(_P + "ModelCard", result_type=True)
spec(_P + "model_dir", args=dict(card=MINILM))
spec(_P + "file_sha256", args=dict(path=__file__))
spec(_P + "verified_file", args=dict(card=MINILM, path=None, sha256=None))
