"""Which reports in `-o DIR` are still up to date, so an interrupted library run resumes.

A report is up to date when it exists and the video it came from has not changed since
(same absolute path, size and modification time) nor has the analysis (the same models at
the same commits with the same analysis tables, the same sampling): then the video is
skipped unless `--force`. The facts live in one hidden file beside the reports,

    DIR/.video-censor-library.json
    {"version": 1, "reports": {"clip.mp4.json": {"video": "/abs/clip.mp4", "size": 123,
                                                 "mtime_ns": 1700000000000000000,
                                                 "analysis": "sha256:..."}}}

and not in the reports, which stay byte for byte what `analyze VIDEO -o REPORT.json` writes.
It is rewritten atomically after each report (report first, then its entry): a run killed
in between analyses that video again, never trusts a report it did not finish.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from video_censor_personal.atomic import atomic_write_bytes

STATE_NAME = ".video-censor-library.json"
STATE_VERSION = 1
# AnalysisRequest fields that do not change a report's content.
_NOT_IN_REPORT = ("video", "download", "hint")


def analysis_fingerprint(manifest, lock, request) -> str:
    """What besides the video decides a report: the analysed models as locked, and the request."""
    models = [
        {"name": m.name, "commit": lock.model(m.name).commit if lock.model(m.name) else None,
         "analysis": repr(m.analysis)}
        for m in manifest.models if m.analysis is not None
    ]
    settings = {key: value for key, value in asdict(request).items() if key not in _NOT_IN_REPORT}
    text = json.dumps({"models": models, "request": settings}, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def video_facts(video: Path, fingerprint: str) -> dict:
    """What must not have changed for the video's report to stand."""
    stat = video.stat()
    return {"video": str(video), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "analysis": fingerprint}


class ReportState:
    """The facts recorded for each report of one output directory."""

    def __init__(self, directory: Path):
        self.path = directory / STATE_NAME
        self.entries: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return {}  # no state, or a damaged one: every video is analysed again, nothing is lost
        if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
            return {}
        reports = document.get("reports")
        return reports if isinstance(reports, dict) else {}

    def is_current(self, report_name: str, video: Path, fingerprint: str) -> bool:
        """The report exists and was made from this very video with this very analysis."""
        if not (self.path.parent / report_name).is_file():
            return False
        try:
            return self.entries.get(report_name) == video_facts(video, fingerprint)
        except OSError:  # the video is gone: the run reports it
            return False

    def record(self, report_name: str, facts: dict) -> None:
        """Remember the facts a finished report was made from (after the report is written)."""
        self.entries[report_name] = facts
        document = {"version": STATE_VERSION, "reports": dict(sorted(self.entries.items()))}
        atomic_write_bytes(self.path, (json.dumps(document, indent=1) + "\n").encode())
