"""Wiring: Settings -> segmenter, refiner, compositor, source, outputs, controls; and the three runs.

Each run (live, demo, photo) opens what it needs into one ``ExitStack`` and so owns and closes
every resource, however it ends. Nothing here computes a pixel: the pure core is in ``models/``
and ``look/``, the threads in ``live/pipeline.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import time
from pathlib import Path

from .errors import WebcamBlurError
from .files import read_image, shown, write_image
from .frames import as_bgr
from .live.controls import Controls
from .live.gate import ChangeGate
from .live.outputs import Outputs
from .live.pipeline import Pipeline, render
from .live.stats import Stats
from .look.compositor import Compositor
from .look.effects import EFFECTS
from .look.lighten import Lightener
from .look.refine import MaskRefiner, RefineSettings, binary_mask
from .settings import Settings

log = logging.getLogger("webcam_blur")

STARTED = time.perf_counter()
DEMO_OUTPUT = "webcam-blur-demo.mp4"
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


# the parts ---------------------------------------------------------------------------------


def build_segmenter(settings: Settings):
    """The network the settings name, with its weights and runtime (TensorFlow loads only if a runtime needs it);
    with ``--model auto``, one per framing (``models/auto.py``)."""
    from .models.auto import AUTO, PORTRAIT, WIDE, AutoSegmenter
    from .models.registry import MODELS
    from .models.segmenter import PersonSegmenter

    def load(name: str, weights):
        return PersonSegmenter.load(
            MODELS[name], weights, size=settings.model_size, runtime=settings.runtime, threads=settings.threads,
            device=settings.device, fit=settings.canvas == "fit", models_dir=settings.models_dir,
        )

    if settings.model != AUTO:
        return load(settings.model, settings.weights)
    wide = load(WIDE, None)
    try:  # its own TFLite file, on the CPU whatever --runtime and --device say of the Keras network
        portrait = PersonSegmenter.load(MODELS[PORTRAIT], threads=settings.threads, models_dir=settings.models_dir)
    except WebcamBlurError as e:  # only the wide network ships with the package: offline, it does every framing
        log.warning("--model %s works with %s alone for now: %s", AUTO, WIDE, e)
        return wide
    return AutoSegmenter(wide, portrait)


def build_refiner(settings: Settings) -> MaskRefiner | None:
    """The mask refiner the settings ask for (None: the raw mask)."""
    if settings.matte != "refined":
        return None
    return MaskRefiner(
        RefineSettings(guided=settings.guided, temporal=settings.temporal, cleanup=settings.cleanup,
                       threshold=settings.threshold)
    )


def build_compositor(settings: Settings, resources: contextlib.ExitStack) -> Compositor:
    """The effect the settings name, in a compositor; a raw mask is feathered, a refined matte is soft already."""
    effect = resources.enter_context(EFFECTS[settings.effect].from_settings(settings))
    return Compositor(effect, feather=0.0 if settings.matte == "refined" else 0.004)


def build_controls(settings: Settings) -> Controls:
    """The keys, starting from the look the settings ask for."""
    return Controls(settings.strength, framing=settings.framing == "auto",
                    lighten=None if settings.lighten == "off" else settings.lighten)


def build_gate(settings: Settings) -> ChangeGate | None:
    """The network runs only where the picture changed, unless told otherwise or segmenting a file in order."""
    return ChangeGate() if settings.motion_gate and not settings.every_frame else None


def refuse_same_file(output: Path | None, *inputs: str | Path | None) -> None:
    """An output that is one of the inputs would destroy it: refuse before anything is touched."""
    if output is None:
        return
    for item in inputs:
        if item is not None and "://" not in str(item) and Path(output).resolve() == Path(item).resolve():
            raise WebcamBlurError(f"the output {output} is the input {item}: choose another output name")


def open_source(settings: Settings, resources: contextlib.ExitStack):
    """The camera or stream (reconnecting when lost) or the input file the settings name."""
    from .capture import CameraSource, Reconnecting, VideoSource

    if settings.input:
        video = VideoSource(settings.input, paced=not settings.every_frame, loop=settings.loop)
        return resources.enter_context(Reconnecting(video, settings.reconnect_timeout) if video.stream else video)
    camera = CameraSource(
        settings.camera, width=settings.width, height=settings.height, fps=settings.fps, mjpeg=settings.mjpeg
    )
    return resources.enter_context(Reconnecting(camera, settings.reconnect_timeout))


def open_outputs(settings: Settings, source, resources: contextlib.ExitStack, optional: bool) -> Outputs:
    """The virtual camera, the video file and the preview the settings ask for, each closed by ``resources``.

    ``optional``: a missing virtual camera or display is a notice, not an error (the demo).
    """
    from .live.window import DisplayUnavailable, PreviewWindow
    from .sinks import VideoFileSink, VirtualCameraSink

    sinks = []
    if settings.vcam:
        vcam = VirtualCameraSink(settings.fps, device=settings.vcam_device, backend=settings.vcam_backend)
        try:
            vcam.open(*source.size)  # fail now, not after the model has loaded
            sinks.append(resources.enter_context(vcam))
        except WebcamBlurError:
            if not optional:
                raise
            log.info("no virtual camera here (see webcam-blur --help to add one); going on without it")
    if settings.output:
        sinks.append(resources.enter_context(VideoFileSink(settings.output, source.fps, source.size)))
    preview = None
    if settings.preview:
        try:
            preview = resources.enter_context(PreviewWindow())
        except DisplayUnavailable as e:
            if not optional:
                raise WebcamBlurError(f"{e}; run with --no-preview") from None
            log.info("%s; going on without it", e)
    return Outputs(sinks, preview, fps=source.fps)


# the runs ----------------------------------------------------------------------------------


def run_pipeline(settings: Settings, source, resources: contextlib.ExitStack, optional_outputs: bool) -> tuple[Stats, Outputs]:
    """The live pipeline until the input ends, ``q`` or a stop signal."""
    compositor = build_compositor(settings, resources)
    outputs = open_outputs(settings, source, resources, optional_outputs)
    segmenter = build_segmenter(settings)
    segmenter.prepare(*source.size)
    pipeline = Pipeline(
        source, segmenter, compositor, outputs,
        refiner=build_refiner(settings),
        controls=build_controls(settings),
        gate=build_gate(settings),
        every_frame=settings.every_frame,
        show_stats=settings.stats,
    )
    log.info("running: %s -> %s; Ctrl-C stops", source.name, ", ".join(outputs.names))
    handled = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, lambda *_: pipeline.stop()) for sig in handled}
    try:
        stats = pipeline.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stats.first_out is not None:
        log.info("first frame out %.1f s after start", stats.first_out - STARTED)
    return stats, outputs


def run_live(settings: Settings) -> None:
    """A camera (or ``--input``) into the preview, the virtual camera and/or a file."""
    if not (settings.preview or settings.vcam or settings.output):
        raise WebcamBlurError(
            "--no-preview and --no-vcam leave nowhere to show the result: add --output FILE, or drop one of them"
        )
    refuse_same_file(settings.output, settings.input, settings.background)
    copy = settings.input and settings.output and "://" not in settings.input and not settings.every_frame
    if copy:  # a recording of a file is a copy of it: no frame may be skipped (a 1-frame clip wrote none)
        settings = dataclasses.replace(settings, every_frame=True)
    with contextlib.ExitStack() as resources:
        source = open_source(settings, resources)
        if copy:
            log.info("recording a file from a file: every frame, in order (as with --every-frame)")
        run_pipeline(settings, source, resources, optional_outputs=False)


def run_demo(settings: Settings, seconds: float) -> str:
    """The shipped clip, looped as a 30 fps camera, into whatever outputs this machine has; returns the summary line."""
    from .assets import DEMO_CLIP, bundled
    from .capture import VideoSource

    if not 0 < seconds <= 86400:
        raise WebcamBlurError(f"--seconds must be between 0 and 86400, not {seconds:g}")
    clip = bundled(DEMO_CLIP)
    if not clip.is_file():
        raise WebcamBlurError(f"the demo clip is missing from the installed package ({clip}); reinstall webcam-blur")
    with contextlib.ExitStack() as resources:
        source = resources.enter_context(VideoSource(str(clip), paced=True, loop=True))
        source.limit = max(1, round(seconds * source.fps))
        stats, outputs = run_pipeline(settings, source, resources, optional_outputs=True)
    shown = [sink.name for sink in outputs.sinks if not sink.records] + (["the preview window"] if outputs.preview else [])
    where = " and ".join(shown) if shown else "no window and no virtual camera (none here)"
    return (
        f"webcam-blur demo: {EFFECTS[settings.effect].done} behind the person in {stats.frames_out} frames "
        f"({seconds:g} s) of the demo clip, shown in {where}; video saved to {settings.output.resolve()}"
    )


def run_photo(settings: Settings, image_path: Path, output: Path, save_mask: Path | None) -> None:
    """Portrait mode for one photo: writes the result, and the person mask when asked for."""
    refuse_same_file(output, image_path)
    refuse_same_file(save_mask, image_path, output)
    image = as_bgr(read_image(image_path, "input image"))
    for target in (output, save_mask):
        if target is not None and not target.parent.is_dir():
            raise WebcamBlurError(f"cannot write {shown(target)}: folder {shown(target.parent)} does not exist")
    with contextlib.ExitStack() as resources:
        compositor = build_compositor(settings, resources)
        refiner = build_refiner(settings)
        segmentation = build_segmenter(settings).segment(image)
        matte = refiner.refine(image, segmentation) if refiner else segmentation.mask
        write_image(output, render(build_controls(settings).view, compositor, image, matte, lightener=Lightener()))
    mask = binary_mask(matte)
    if save_mask:
        write_image(save_mask, mask)
    log.info("wrote %s (person: %.0f%% of the photo)", output, 100 * (mask > 0).mean())
