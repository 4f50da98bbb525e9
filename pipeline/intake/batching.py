"""How a tick's ready uploads become runs: one run each, or multi-session runs for a burst.

A multi-session run is a range of keys of the ``sessions`` dynamic partitions, whose order is the
order they were added. So only sessions whose partition this tick adds can be batched (the tick
adds them batch by batch, making each batch's keys contiguous); a re-upload of an existing
partition, or any upload in a tick with at most ``threshold`` ready, gets a run of its own at once.
A learner with several new sessions gets batches of its own, in the order they became ready, so the
one-run-per-learner limit holds for them; learners with one session each share batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pipeline.intake.tick import ReadyUpload


@dataclass(frozen=True)
class RunBatch:
    """The uploads one requested run takes: one session, or a batch of them."""

    uploads: tuple[ReadyUpload, ...]

    @property
    def session_ids(self) -> list[str]:
        return [u.session_id for u in self.uploads]

    @property
    def learner_ids(self) -> list[str]:
        return sorted({u.learner_id for u in self.uploads})

    @property
    def run_key(self) -> str:
        """``<session_id>:<version>`` for one session; a digest of its members' keys for a batch."""
        if len(self.uploads) == 1:
            return self.uploads[0].run_key
        digest = hashlib.sha256("|".join(u.run_key for u in self.uploads).encode()).hexdigest()[:16]
        return f"batch:{self.uploads[0].session_id}..{self.uploads[-1].session_id}:{digest}"


def batch_uploads(
    ready: Sequence[ReadyUpload], existing: Collection[str], *, threshold: int, size: int
) -> tuple[list[RunBatch], list[str]]:
    """The runs for ``ready`` and the partition keys to add, in the order to add them.

    ``existing`` holds the session ids that already are partitions.
    """
    new = [u for u in ready if u.session_id not in existing]
    old = [u for u in ready if u.session_id in existing]
    if len(ready) <= threshold or size < 2:
        return [RunBatch((u,)) for u in ready], [u.session_id for u in new]
    by_learner: dict[str, list[ReadyUpload]] = {}
    for upload in new:  # learners in the order of their first upload, each learner's own order kept
        by_learner.setdefault(upload.learner_id, []).append(upload)
    # A learner with several sessions gets batches of its own (tagged learner_id: one at a time);
    # learners with one session each share batches (none of them can hold up another learner).
    groups = [own for own in by_learner.values() if len(own) > 1]
    groups.append([own[0] for own in by_learner.values() if len(own) == 1])
    runs = [RunBatch(tuple(group[i : i + size])) for group in groups for i in range(0, len(group), size)]
    runs += [RunBatch((u,)) for u in old]
    return runs, [u.session_id for run in runs for u in run.uploads if u.session_id not in existing]
