"""The one exception type the command line turns into a one-line message."""


class WebcamBlurError(Exception):
    """A problem the user can fix; its message says how, in one line."""


class SourceLost(WebcamBlurError):
    """The camera stopped delivering frames; the pipeline keeps the output alive and reconnects."""
