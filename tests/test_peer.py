"""The peer's loop that bench measures: MediaPipe's selfie network through LiteRT finds the person."""

import cv2
import numpy as np

from webcam_blur.peer import PeerLoop, SelfieSegmenter
from webcam_blur.quality import iou


def test_the_selfie_network_finds_the_person_our_network_finds(shared, segmenter, photos, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_MODELS", str(shared / "models"))
    selfie = SelfieSegmenter()
    image = photos["grace_hopper.bmp"]
    probability = selfie.probability(image)
    assert probability.shape == image.shape[:2] and 0 <= probability.min() and probability.max() <= 1
    assert iou(probability > 0.5, segmenter.segment(image).mask) > 0.85


def test_the_peer_loop_keeps_the_person_and_blurs_the_rest(shared, segmenter, clip_frames, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_MODELS", str(shared / "models"))
    loop, frame = PeerLoop(), clip_frames[10]
    out = loop(frame)
    mask = segmenter.segment(frame).mask
    person = cv2.erode(mask, np.ones((31, 31), np.uint8)) > 0
    background = cv2.dilate(mask, np.ones((31, 31), np.uint8)) == 0
    diff = np.abs(out.astype(int) - frame.astype(int)).mean(axis=2)
    assert diff[person].mean() < 2 < diff[background].mean()
