"""What a collection has read for good, kept so that a killed ``collect`` resumes.

Collecting millions of REPORT records takes many FilterLogEvents pages. The run's span
is read in time windows (:func:`cloudwatch.windows_of`); a window read once the
ingestion lag has passed its end (twice the collector's settle time) holds every record
it will ever hold, and is kept here, in ``runs/<id>/.collect/``, one JSON file per
window, written atomically as soon as it is read. A later ``collect`` of the run loads
those windows instead of reading them again, and reads only the rest. Files are named
by window, log group and filter pattern, so a different span or log group never reuses
another's.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from coldbench.analysis.cloudwatch import Window
from coldbench.record.files import write_text_atomic


class Checkpoint:
    def __init__(self, run_dir: Path, log_group: str, pattern: str):
        self.folder = run_dir / ".collect"
        self.key = f"{zlib.crc32(f'{log_group}|{pattern}'.encode()):08x}"

    def _path(self, window: Window) -> Path:
        return self.folder / f"reports-{window[0]}-{window[1]}-{self.key}.json"

    def load(self, windows: list[Window]) -> dict[Window, tuple[list[dict], int]]:
        """The windows already read for good: their records and skipped-event counts
        (a file that cannot be read is read again from CloudWatch instead)."""
        kept = {}
        for window in windows:
            try:
                data = json.loads(self._path(window).read_text())
                kept[window] = (list(data["records"]), int(data["skipped"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return kept

    def keep(self, window: Window, records: list[dict], skipped: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self._path(window), json.dumps({"skipped": skipped, "records": records}))
