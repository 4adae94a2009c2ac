"""Censoring: a report's flagged ranges applied to a copy of the video (`video-censor censor`).

    report_reader.py  report JSON (file or in-process analysis) -> FlaggedVideo, checked
    plan.py           FlaggedVideo -> CensorPlan: holds per frame (boxes with margin, held
                      between samples), ranges for audio and `cut`, the cut time map
    video_effects.py  blur / black / pixelate inside regions, on the frame's YUV planes
    audio_effects.py  mute / bleep (1 kHz) the flagged samples
    tracks.py         per input stream: censor + H.264, edit + AAC, or copy packets
    writer.py         the whole pass: checks, temp file, demux, rename when complete

Like the analysis, av and numpy are imported inside functions: importing this package
costs nothing until a video is censored.
"""
