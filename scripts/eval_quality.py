#!/usr/bin/env python3
"""webcam-blur's quality benchmark: person masks against hand-labelled ground truth, and stability on video.

    python scripts/eval_quality.py ../shared/data/portraits ../shared/data/people \\
        --videos ../shared/videos --compare raw,refined --model auto,deeplab-voc,selfie

Each DIR holds images/ and masks/ with the same stems (masks: nonzero = person). Scores:
  IoU          person intersection over union, mean over images
  boundary F   F-score of mask edges within 3 px of the true edge
  flicker      (videos) mean share of pixels whose mask value flips from one frame to the next, %
  lag          (videos) 1 - IoU between the temporally smoothed mask and the same frame's unsmoothed one, %:
               how far smoothing trails the picture
Variants: raw (network argmax), refined (the app's default mask), gated (refined, with the live
app's change gate deciding on which video frames the network runs; between them the last mask is
kept, as the app does; on photos it equals refined), cleanup (refined with --cleanup: small blobs
dropped, enclosed holes filled). The last two lines are always
``mean IoU`` and ``boundary F`` of the default settings on the first DIR with the first --model, --size and --canvas.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from webcam_blur import app
from webcam_blur.errors import WebcamBlurError
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.effects import Blur
from webcam_blur.live.gate import ChangeGate
from webcam_blur.look.refine import MaskRefiner, RefineSettings, binary_mask
from webcam_blur.models.auto import AUTO, WIDE
from webcam_blur.models.registry import MODELS
from webcam_blur.quality import boundary_f, iou
from webcam_blur.settings import CANVASES, DEFAULTS, MASKS, RUNTIMES, make_settings

SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
VIDEO_SUFFIXES = {".mkv", ".mp4", ".avi", ".mov"}
VARIANTS = (*MASKS, "gated", "cleanup")
VARIANT_OPTIONS = {"cleanup": {"cleanup": True}}  # RefineSettings of variants that are not the default
DEFAULT_VARIANT = DEFAULTS.matte


def listed(text: str, allowed, flag: str) -> list[str]:
    """A comma-separated flag value whose items must all be ``allowed``."""
    items = [item.strip() for item in text.split(",")]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise WebcamBlurError(f"{flag}: unknown {unknown[0]!r}; choose from {', '.join(allowed)}")
    return items


def pairs(folder: Path) -> list[tuple[Path, Path]]:
    images, masks = folder / "images", folder / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise WebcamBlurError(f"{folder} must contain images/ and masks/")
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    found = [
        (p, by_stem[p.stem]) for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in by_stem
    ]
    if not found:
        raise WebcamBlurError(f"no image/mask pairs with matching names in {folder}")
    return found


def masks_for(variant: str, image, segmentation, refiner: MaskRefiner) -> np.ndarray:
    if variant == "raw":
        return segmentation.mask
    return binary_mask(refiner.refine(image, segmentation))


def evaluate_pairs(segmenter, found, variants, verbose: bool, sheet_rows: list) -> dict:
    still = {v: MaskRefiner(RefineSettings(temporal=0.0, **VARIANT_OPTIONS.get(v, {}))) for v in variants}
    scores = {v: {} for v in variants}
    for image_path, mask_path in found:
        image = cv2.imread(str(image_path))
        truth = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if image is None or truth is None:
            print(f"skipping unreadable pair {image_path.name}", file=sys.stderr)
            continue
        if truth.shape != image.shape[:2]:
            truth = cv2.resize(truth, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
        if hasattr(segmenter, "reset"):
            segmenter.reset()  # --model auto: each photo is a first picture
        segmentation = segmenter.segment(image)
        line = []
        for variant in variants:
            mask = masks_for(variant, image, segmentation, still[variant])
            scores[variant][image_path.name] = {"iou": iou(mask, truth), "boundary_f": boundary_f(mask, truth)}
            line.append(f"{variant} IoU {scores[variant][image_path.name]['iou']:.3f} BF {scores[variant][image_path.name]['boundary_f']:.3f}")
            if variant == DEFAULT_VARIANT and len(sheet_rows) < 8:
                sheet_rows.append((image, mask))
        if verbose:
            print(f"  {image_path.name:34s} " + "  ".join(line))
    return {
        v: {
            "images": len(s),
            "mean_iou": float(np.mean([x["iou"] for x in s.values()])),
            "boundary_f": float(np.mean([x["boundary_f"] for x in s.values()])),
            "per_image": s,
        }
        for v, s in scores.items()
    }


def evaluate_videos(segmenter, videos: list[Path], variants, verbose: bool) -> dict:
    results = {v: {"flicker": [], "lag": [], "network_share": []} for v in variants}
    for video in videos:
        capture = cv2.VideoCapture(str(video))
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        if hasattr(segmenter, "reset"):
            segmenter.reset()
        refiners = {v: MaskRefiner(RefineSettings(**VARIANT_OPTIONS.get(v, {}))) for v in variants}
        instant = MaskRefiner(RefineSettings(temporal=0.0))
        gate = ChangeGate()
        previous = {v: None for v in variants}
        flips = {v: [] for v in variants}
        trail = {v: [] for v in variants}
        runs = {v: 0 for v in variants}
        for index in itertools.count():
            ok, frame = capture.read()
            if not ok:
                break
            segmentation = segmenter.segment(frame)
            reference = binary_mask(instant.refine(frame, segmentation))  # what this frame alone gives
            now = index / fps
            for variant in variants:
                if variant == "gated" and previous[variant] is not None and not gate.needed(frame, now):
                    mask = previous[variant]  # the network did not run: the app keeps the last matte
                else:
                    runs[variant] += 1
                    mask = masks_for(variant, frame, segmentation, refiners[variant])
                    if variant == "gated":
                        gate.segmented(frame, segmentation, now)
                trail[variant].append(0.0 if variant == "raw" else 1.0 - iou(mask, reference))
                if previous[variant] is not None:
                    flips[variant].append(float(np.count_nonzero(mask != previous[variant])) / mask.size)
                previous[variant] = mask
        capture.release()
        line = []
        for variant in variants:
            results[variant]["flicker"].append(100 * float(np.mean(flips[variant])))
            results[variant]["lag"].append(100 * float(np.mean(trail[variant])))
            results[variant]["network_share"].append(runs[variant] / max(1, len(trail[variant])))
            line.append(f"{variant} flicker {results[variant]['flicker'][-1]:.3f}% lag {results[variant]['lag'][-1]:.2f}%")
        if verbose:
            print(f"  {video.name:34s} " + "  ".join(line))
    return {
        v: {"videos": len(videos), **{k: float(np.mean(r[k])) for k in ("flicker", "lag", "network_share")}}
        for v, r in results.items()
    }


def contact_sheet(rows, path: Path, blur: float = 60.0) -> None:
    """image | mask | result, one row per image, so a person can judge the edges."""
    compositor = Compositor(Blur(), feather=0.0)
    tiles = []
    for image, mask in rows:
        result = compositor.compose(image, mask, blur)
        row = np.hstack([image, cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR), result])
        tiles.append(cv2.resize(row, (round(row.shape[1] * 240 / row.shape[0]), 240), interpolation=cv2.INTER_AREA))
    width = max(t.shape[1] for t in tiles)
    sheet = np.vstack([cv2.copyMakeBorder(t, 0, 4, 0, width - t.shape[1], cv2.BORDER_CONSTANT) for t in tiles])
    if not cv2.imwrite(str(path), sheet):
        raise WebcamBlurError(f"cannot write {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="*", help="folders with images/ and masks/")
    parser.add_argument("--videos", type=Path, metavar="DIR", help="also score flicker and lag on the videos in DIR")
    parser.add_argument("--model", help=f"network(s), comma-separated, from {','.join([*MODELS, AUTO])} "
                        f"(default: {DEFAULTS.model}; with --weights, {WIDE})")
    parser.add_argument("--weights", type=Path, help="weights file (default: the network's published file)")
    parser.add_argument("--models-dir", type=Path, metavar="DIR", default=SHARED_MODELS if SHARED_MODELS.is_dir() else None,
                        help="folder of published model files, looked in before any download (default: ../shared/models)")
    parser.add_argument("--size", default="512", help="model input size(s), comma-separated (default: 512)")
    parser.add_argument("--canvas", default=DEFAULTS.canvas, help=f"network canvas(es), comma-separated, from {','.join(CANVASES)} (default: %(default)s)")
    parser.add_argument("--compare", default=DEFAULT_VARIANT, help=f"variants, comma-separated, from {','.join(VARIANTS)} (default: %(default)s)")
    parser.add_argument("--runtime", choices=RUNTIMES, default=DEFAULTS.runtime, help="inference runtime (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write all scores as JSON")
    parser.add_argument("--sheet", type=Path, metavar="OUT.png", help="write a contact sheet (image | mask | result)")
    parser.add_argument("--quiet", action="store_true", help="no per-image lines")
    args = parser.parse_args(argv)
    try:
        variants = listed(args.compare, VARIANTS, "--compare")
        if DEFAULT_VARIANT not in variants:
            variants.append(DEFAULT_VARIANT)
        sizes = [int(s) for s in args.size.split(",")]
        canvases = listed(args.canvas, CANVASES, "--canvas")
        models = listed(args.model or (WIDE if args.weights else DEFAULTS.model), [*MODELS, AUTO], "--model")
        if not args.folders and not args.videos:
            raise WebcamBlurError("give at least one folder of image/mask pairs, or --videos DIR")
        found = {folder: pairs(folder) for folder in args.folders}
        videos = sorted(p for p in args.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) if args.videos else []
        results, sheet_rows = {}, []
        for model, size, canvas in itertools.product(models, sizes, canvases):
            chosen = {"model": model, "model_size": size, "runtime": args.runtime, "canvas": canvas,
                      **({"models_dir": str(args.models_dir)} if args.models_dir else {})}
            segmenter = app.build_segmenter(make_settings({**chosen, **({"weights": str(args.weights)} if args.weights else {})}))
            at = f"{model} {size} {canvas}"
            for folder, folder_pairs in found.items():
                print(f"{folder} at {at}:")
                results[f"{folder.name}@{at}"] = evaluate_pairs(segmenter, folder_pairs, variants, not args.quiet, sheet_rows)
            if videos:
                print(f"{args.videos} at {at}:")
                results[f"videos@{at}"] = evaluate_videos(segmenter, videos, variants, not args.quiet)
    except (WebcamBlurError, ValueError) as e:
        print(f"eval_quality: error: {e}", file=sys.stderr)
        return 1
    print("\n| set | model | size | canvas | variant | mean IoU | boundary F | flicker % | lag % | network runs on |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, by_variant in results.items():
        name, at = key.rsplit("@", 1)
        model, size, canvas = at.split()
        for variant, r in by_variant.items():
            where = f"| {name} ({r.get('images', r.get('videos'))}) | {model} | {size} | {canvas} | {variant} |"
            if "mean_iou" in r:
                print(f"{where} {r['mean_iou']:.3f} | {r['boundary_f']:.3f} | | | |")
            else:
                print(f"{where} | | {r['flicker']:.3f} | {r['lag']:.2f} | {100 * r['network_share']:.0f} % of frames |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.sheet and sheet_rows:
        contact_sheet(sheet_rows, args.sheet)
        print(f"contact sheet: {args.sheet}")
    if found:
        first = results[f"{args.folders[0].name}@{models[0]} {sizes[0]} {canvases[0]}"][DEFAULT_VARIANT]
        print(f"mean IoU {first['mean_iou']:.3f}")
        print(f"boundary F {first['boundary_f']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
