"""A tight address space limit (``ulimit -v``): one line saying what to raise, never a signal or a hang."""

import resource

from helpers import error_lines, run_app

MB = 1 << 20


def _limited_to(megabytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * MB, megabytes * MB))

    return limit


def _photo(shared, tflite_path, tmp_path, megabytes: int, **env):
    return run_app("photo", str(shared / "images" / "grace_hopper.bmp"), "-o", str(tmp_path / "out.png"),
                   "--weights", str(tflite_path), preexec_fn=_limited_to(megabytes), env=env or None, timeout=180)


def test_too_little_for_anything_is_refused_before_the_native_libraries_load(shared, tflite_path, tmp_path):
    result = _photo(shared, tflite_path, tmp_path, 500)  # importing OpenCV's Qt here died with SIGSEGV
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        "webcam-blur: error: webcam-blur needs about 1024 MB of address space, but this process may use only "
        "500 MB (ulimit -v); raise that limit"
    ]


def test_two_gigabytes_on_a_cold_cache_says_the_first_run_needs_more(shared, tflite_path, tmp_path):
    """TensorFlow deadlocked converting under 2 GB; now the first run asks for the room up front."""
    result = _photo(shared, tflite_path, tmp_path, 2048, WEBCAM_BLUR_CACHE=str(tmp_path / "cold"))
    assert result.returncode == 1
    assert error_lines(result.stderr)[-1] == (
        "webcam-blur: error: building the network's runtime (once, on a first run) needs about 3072 MB of "
        "address space, but this process may use only 2048 MB (ulimit -v); raise that limit"
    )


def test_two_gigabytes_on_a_warm_cache_is_enough_and_the_cache_survives(shared, tflite_path, tmp_path):
    cache = tmp_path / "cache"
    assert _photo(shared, tflite_path, tmp_path, 8192, WEBCAM_BLUR_CACHE=str(cache)).returncode == 0
    built = {path.name: path.read_bytes() for path in cache.iterdir()}
    for megabytes in (2048, 1024):
        result = _photo(shared, tflite_path, tmp_path, megabytes, WEBCAM_BLUR_CACHE=str(cache))
        assert result.returncode == 0, result.stderr
        assert {path.name: path.read_bytes() for path in cache.iterdir()} == built
