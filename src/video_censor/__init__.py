"""`video_censor`: the name the original feature brief uses for this program.

Only an alias: `python -m video_censor ...` runs the same `video-censor` command line as
`python -m video_censor_personal ...`; the code lives in `video_censor_personal`.
"""

from video_censor_personal import __version__

__all__ = ["__version__"]
