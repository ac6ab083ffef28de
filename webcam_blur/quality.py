"""Mask quality measures: region overlap (IoU) and edge accuracy (boundary F-score)."""

from __future__ import annotations

import cv2
import numpy as np


def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two masks (nonzero = person); 1.0 when both are empty."""
    a, b = predicted > 0, truth > 0
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    mask = (mask > 0).astype(np.uint8)
    return mask - cv2.erode(mask, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)


def boundary_f(predicted: np.ndarray, truth: np.ndarray, tolerance: float = 3.0) -> float:
    """F-score of mask edges: an edge pixel counts when the other mask's edge is within ``tolerance`` px."""
    edge_p, edge_t = _boundary(predicted), _boundary(truth)
    n_p, n_t = np.count_nonzero(edge_p), np.count_nonzero(edge_t)
    if n_p == 0 and n_t == 0:
        return 1.0
    if n_p == 0 or n_t == 0:
        return 0.0
    dist_to_t = cv2.distanceTransform(1 - edge_t, cv2.DIST_L2, 3)
    dist_to_p = cv2.distanceTransform(1 - edge_p, cv2.DIST_L2, 3)
    precision = np.count_nonzero(dist_to_t[edge_p > 0] <= tolerance) / n_p
    recall = np.count_nonzero(dist_to_p[edge_t > 0] <= tolerance) / n_t
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))
