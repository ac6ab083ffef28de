"""``--model auto``: the network that suits the framing, and only one of them per frame.

Measured on the shared sets (refined masks, IoU / boundary F): the VOC network is the best on
full-body scenes and the weakest on webcam portraits, the selfie network the reverse
(``README.md`` has the table). Chosen per picture by its framing, portraits score
0.966 / 0.671 (the selfie network's own figures) and people 0.860 / 0.690, ahead of both networks
alone (VOC 0.859 / 0.678, selfie 0.850 / 0.700). With the portrait-trained DeepLab instead of the
selfie network, people fall to 0.852 / 0.655: a third of the people set is framed as portraits,
and there the VOC network is better than that one.

A picture is a portrait when one person (no other over 2 % of the picture) covers 15 % of it or
more and fills 30 % of its bottom edge or more: a head and shoulders cut by the frame. The first
picture is decided at once (it runs the first network, and the other too if the framing says
so); after that the choice follows the masks with hysteresis: it changes only when ``HOLD``
masks in a row say so (about a second), so a raised arm or a moment out of the picture never
flips it back and forth, and the refiner's temporal smoothing carries the matte across a change
(at the change, 0.005-0.2 % of the picture flips on three shared clips: no more than from one
ordinary frame to the next).

It is the default. On the 23 shared videos it flickers no more than the VOC network alone
(0.226 % against 0.227 %; lag 3.3 % against 3.1 %) once the selfie network has its own dead band
(``ModelSpec.dead_band``), and at 720p it costs half the CPU (the selfie network takes 8.5 ms per
mask against ~40). Only the VOC network ships with the package: the selfie network's file
(0.25 MB) is downloaded on first use, and where it cannot be had (offline) the VOC network does
every framing (``app.build_segmenter``). The selfie network drops lowered, motion-blurred hands
that the VOC network keeps (``README.md``, known failure cases).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

AUTO = "auto"
WIDE, PORTRAIT = "deeplab-voc", "selfie"  # the registry's names: the network for each framing
MEASURED = ("refined IoU / boundary F: portraits 0.966 / 0.671, people 0.860 / 0.690; videos: flicker 0.226 %, "
            "lag 3.31 %")
HOLD = 15  # masks in a row that must agree before the network changes
PORTRAIT_AREA = 0.15  # the person's share of the picture
PORTRAIT_BOTTOM = 0.3  # the person's share of the picture's bottom edge
OTHERS = 0.02  # another person larger than this share: a group, not a portrait


def is_portrait(mask: np.ndarray) -> bool:
    """Whether a person mask (nonzero = person, any size) shows one head and shoulders cut by the frame's bottom."""
    person = (mask > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(person)
    if count < 2:
        return False
    areas = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1] / person.size
    bottom = person[-max(1, person.shape[0] // 50):].mean()
    return bool(areas[0] >= PORTRAIT_AREA and bottom >= PORTRAIT_BOTTOM and (len(areas) < 2 or areas[1] < OTHERS))


def _framing(segmentation) -> bool:
    """``is_portrait`` of a segmentation, read at a quarter of the frame's size (0.2 ms at 720p)."""
    box = segmentation.box
    return is_portrait(segmentation.probability_at(max(1, box.frame_width // 4), max(1, box.frame_height // 4)) > 0.5)


class AutoSegmenter:
    """Segments with ``portrait`` while the picture is framed as a portrait, with ``wide`` otherwise."""

    def __init__(self, wide, portrait) -> None:
        self.networks = {False: wide, True: portrait}
        self.portrait: bool | None = None  # the framing in use; None: nothing seen yet
        self.changes = 0
        self._against = 0  # masks in a row that disagree with the framing in use

    def reset(self) -> None:
        """Forget the framing: the next picture is decided at once (a photo, another video)."""
        self.portrait, self._against = None, 0

    def prepare(self, width: int, height: int) -> None:
        for network in self.networks.values():
            network.prepare(width, height)

    def segment(self, frame: np.ndarray):
        if self.portrait is None:
            segmentation = self.networks[False].segment(frame)
            self.portrait = _framing(segmentation)
            log.info("the picture is framed %s: segmenting with %s", *(
                ("as a portrait", PORTRAIT) if self.portrait else ("wide", WIDE)))
            return self.networks[True].segment(frame) if self.portrait else segmentation
        segmentation = self.networks[self.portrait].segment(frame)
        self._against = self._against + 1 if _framing(segmentation) != self.portrait else 0
        if self._against >= HOLD:
            self.portrait, self._against = not self.portrait, 0
            self.changes += 1
            log.info("the framing changed: segmenting with %s", PORTRAIT if self.portrait else WIDE)
        return segmentation
