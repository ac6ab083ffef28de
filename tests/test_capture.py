"""Video sources: looping a file and stopping after a number of frames."""

from helpers import video_frames
from webcam_blur.assets import DEMO_CLIP, bundled
from webcam_blur.capture import VideoSource


def test_a_looped_file_starts_again_at_its_end_and_a_limit_ends_it():
    clip = str(bundled(DEMO_CLIP))
    length = len(video_frames(clip))
    source = VideoSource(clip, paced=False, loop=True, limit=length + 20)
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.release()
    assert len(frames) == length + 20
    assert (frames[length] == frames[0]).all()  # the 78th frame is the first one again


def test_without_loop_a_file_ends():
    clip = str(bundled(DEMO_CLIP))
    source = VideoSource(clip, paced=False)
    count = 0
    while source.read() is not None:
        count += 1
    assert count == len(video_frames(clip))
