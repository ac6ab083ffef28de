"""PASCAL VOC conventions of the official DeepLab networks: input range and the person class.

NumPy only, so the registry can name them without loading Keras.
"""

from __future__ import annotations

import numpy as np

PERSON_CLASS = 15  # 0 is background
CLASSES = 21


def preprocess(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Map RGB values 0..255 to the network's input range -1..1, as float32 (into ``out`` if given)."""
    out = np.multiply(rgb, np.float32(1 / 127.5), out=out, dtype=np.float32, casting="unsafe")
    out -= 1.0
    return out


def person(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """21-class logits -> (person margin, person probability), each on the logits' grid.

    The margin is the person logit minus the best other one: > 0 exactly where the argmax is
    the person class, so the mask needs one channel resampled instead of 21.
    """
    logits = logits.astype(np.float32, copy=False)
    own = logits[..., PERSON_CLASS]
    others = np.delete(logits, PERSON_CLASS, axis=-1).max(axis=-1)
    top = np.maximum(own, others)
    probability = np.exp(own - top) / np.exp(logits - top[..., None]).sum(axis=-1)
    return own - others, probability.astype(np.float32)
