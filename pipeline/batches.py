"""How a tick's ready uploads become runs: one run each, or multi-session runs for a burst.

A multi-session run is a range of keys of the ``sessions`` dynamic partitions, whose order is the
order they were added. So only sessions whose partition this tick adds can be batched (the tick
adds them batch by batch, making each batch's keys contiguous); a re-upload of an existing
partition, or any upload in a tick with at most ``threshold`` ready, gets a run of its own at once.
Within a batch a learner's sessions stay together, in the order they became ready.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pipeline.discovery import ReadyUpload


@dataclass(frozen=True)
class PlannedRun:
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


def plan_runs(
    ready: Sequence[ReadyUpload], existing: Collection[str], *, threshold: int, size: int
) -> tuple[list[PlannedRun], list[str]]:
    """The runs for ``ready`` and the partition keys to add, in the order to add them.

    ``existing`` holds the session ids that already are partitions.
    """
    new = [u for u in ready if u.session_id not in existing]
    old = [u for u in ready if u.session_id in existing]
    if len(ready) <= threshold or size < 2:
        return [PlannedRun((u,)) for u in ready], [u.session_id for u in new]
    order = {u.learner_id: i for i, u in reversed(list(enumerate(new)))}  # learners by their first upload
    new.sort(key=lambda u: order[u.learner_id])  # stable: each learner's own order is kept
    runs = [PlannedRun(tuple(new[start : start + size])) for start in range(0, len(new), size)]
    runs += [PlannedRun((u,)) for u in old]
    return runs, [u.session_id for u in new]
