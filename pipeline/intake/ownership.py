"""Session ids that differ only in case: one result file on a case-insensitive filesystem.

``S1`` and ``s1`` are different ids to the status store and the partitions, but the same
``results/*/S1.json`` on macOS's default filesystem (and on some SMB shares). The first spelling
seen (the folder that changed earliest) keeps the id; the later one is rejected as a collision,
so no session's results can overwrite another's.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.intake.contract import Rejection, SessionUpload


def case_twins(uploads: Sequence[SessionUpload]) -> list[Rejection]:
    """Rejections of the later spellings of session ids that differ from an earlier one only in case."""
    first: dict[str, SessionUpload] = {}
    rejected = []
    for upload in sorted(uploads, key=lambda u: (u.latest_change, u.prefix)):
        owner = first.setdefault(upload.session_id.casefold(), upload)
        if owner.session_id != upload.session_id:
            rejected.append(
                Rejection(
                    upload.prefix,
                    upload.learner_id,
                    upload.session_id,
                    f"session id {upload.session_id} differs only in case from {owner.prefix}, which would "
                    "share its result files on a case-insensitive filesystem: rename the folder",
                )
            )
    return rejected
