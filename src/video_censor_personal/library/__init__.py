"""A library run: `analyze VIDEO... -o DIR`, many videos, on local worker processes or a Dask cluster.

    discover.py      files and folders -> videos (container probing; hidden and partial files passed over)
    naming.py        videos -> report names in DIR, clashes resolved deterministically
    resume.py        which reports in DIR are up to date (the video and the analysis unchanged)
    work.py          one video in a worker: the models loaded once per worker, an Outcome per video
    local_runner.py  --jobs N worker processes, each with its share of the cores
    dask_runner.py   --scheduler tcp://HOST:PORT, each worker making its own models ready
    summary.py       the tally and the run's exit code (the highest of its videos')
    run.py           plan, then run: writes each report atomically as it comes in
"""
