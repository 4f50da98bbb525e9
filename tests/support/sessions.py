"""Upload folders as a client makes them, and the paths of the committed fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
AUDIO = FIXTURES / "audio"


def add_session(
    uploads_dir: Path,
    learner: str,
    session: str,
    *,
    text: str | None = None,
    audio: str | None = None,
    manifest: str | None = '{"language": "en"}',
) -> Path:
    """Drop a session folder the way a client uploads it: media first, session.json last."""
    folder = uploads_dir / learner / session
    folder.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (folder / "transcript.txt").write_text(text)
    if audio is not None:
        shutil.copy(AUDIO / audio, folder / f"audio{Path(audio).suffix}")
    if manifest is not None:
        (folder / "session.json").write_text(manifest)
    return folder
