"""`python -m video_censor` is the same program as `video-censor`."""

from video_censor_personal.cli import main

if __name__ == "__main__":
    main()
