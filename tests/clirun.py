"""Run the real `video-censor` entry point in-process and capture what a user would see.

In-process (not a subprocess) so a test costs milliseconds and coverage sees the code;
tests that need a real process (kill, concurrency) use subprocesses instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

from video_censor_personal.cli import main


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    @property
    def warning_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("warning:")]


def invoke(capsys, *argv: str) -> CliResult:
    """`video-censor ARGV...` with the current directory and environment."""
    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def run_process(*argv: str, cwd=None, env=None, timeout: float = 60) -> CliResult:
    """`python -m video_censor_personal ARGV...` as a real child process."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run([sys.executable, "-m", "video_censor_personal", *argv], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)
