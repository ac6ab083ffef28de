#!/usr/bin/env python3
"""Score webcam-blur's person masks against hand-labelled ground truth.

    python scripts/eval_quality.py ../shared/data/portraits --weights ../shared/models/deeplabv3_mnv2_pascal_quant.tflite
    python scripts/eval_quality.py ../shared/data/portraits --size 512,513   # pick the default by measurement

DIR holds images/ and masks/ with the same stems (masks: nonzero = person). Prints each image's
person IoU and boundary F-score (mask edges within 3 px), a summary per model size, and last the
``mean IoU`` and ``boundary F`` lines of the first size listed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from webcam_blur.errors import WebcamBlurError
from webcam_blur.quality import boundary_f, iou
from webcam_blur.segmenter import PersonSegmenter

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def pairs(folder: Path) -> list[tuple[Path, Path]]:
    images, masks = folder / "images", folder / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise WebcamBlurError(f"{folder} must contain images/ and masks/")
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    found = [(p, by_stem[p.stem]) for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in by_stem]
    if not found:
        raise WebcamBlurError(f"no image/mask pairs with matching names in {folder}")
    return found


def evaluate(segmenter: PersonSegmenter, found: list[tuple[Path, Path]], verbose: bool) -> dict:
    per_image = {}
    for image_path, mask_path in found:
        image = cv2.imread(str(image_path))
        truth = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if image is None or truth is None:
            print(f"skipping unreadable pair {image_path.name}", file=sys.stderr)
            continue
        if truth.shape != image.shape[:2]:
            truth = cv2.resize(truth, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
        mask = segmenter.segment(image).mask
        per_image[image_path.name] = {"iou": iou(mask, truth), "boundary_f": boundary_f(mask, truth)}
        if verbose:
            scores = per_image[image_path.name]
            print(f"  {image_path.name:32s} IoU {scores['iou']:.3f}  boundary F {scores['boundary_f']:.3f}")
    return {
        "images": len(per_image),
        "mean_iou": float(np.mean([s["iou"] for s in per_image.values()])),
        "boundary_f": float(np.mean([s["boundary_f"] for s in per_image.values()])),
        "per_image": per_image,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with images/ and masks/")
    parser.add_argument("--weights", type=Path, help="weights file (default: the downloaded official network)")
    parser.add_argument("--size", default="512", help="model input size(s), comma-separated (default: 512)")
    parser.add_argument("--runtime", choices=("lite", "keras"), default="lite", help="inference runtime (default: lite)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write all scores as JSON")
    parser.add_argument("--quiet", action="store_true", help="no per-image lines")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.size.split(",")]
        found = pairs(args.folder)
        results = {}
        for size in sizes:
            print(f"model size {size}:")
            segmenter = PersonSegmenter.load(args.weights, size=size, runtime=args.runtime)
            results[str(size)] = evaluate(segmenter, found, not args.quiet)
    except (WebcamBlurError, ValueError) as e:
        print(f"eval_quality: error: {e}", file=sys.stderr)
        return 1
    for size, result in results.items():
        print(f"size {size}: {result['images']} images, mean IoU {result['mean_iou']:.3f}, boundary F {result['boundary_f']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    first = results[str(sizes[0])]
    print(f"mean IoU {first['mean_iou']:.3f}")
    print(f"boundary F {first['boundary_f']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
