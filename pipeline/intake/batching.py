"""How a tick's ready uploads become runs: one run each, or multi-session runs for a burst.

A multi-session run is a range of keys of the ``sessions`` dynamic partitions, whose order is the
order they were added. So only sessions whose partition this tick adds can be batched (the tick
adds them batch by batch, making each batch's keys contiguous); a re-upload of an existing
partition, or any upload in a tick with at most ``threshold`` ready, gets a run of its own at once.
A burst is spread over the instance's run slots (``slots``, the run queue's limit, free or not), since a
run keeps many provider calls in flight (``pipeline.stages.runner``): 120 sessions and 4 slots make 4
runs of 30, not 5 runs of 25 of which one waits; and a burst arriving while other runs go is not
squeezed into the one slot free that moment (one run, one worker). Each learner's new sessions stay in one batch (in the order they became
ready), so no two runs of this tick hold the same learner; the run orders them itself. A learner
with more new sessions than ``size`` gets batches of its own, tagged with the learner (one at a time).
"""

from __future__ import annotations

import hashlib
import math
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
    ready: Sequence[ReadyUpload], existing: Collection[str], *, threshold: int, size: int, slots: int = 1
) -> tuple[list[RunBatch], list[str]]:
    """The runs for ``ready`` and the partition keys to add, in the order to add them.

    ``existing`` holds the session ids that already are partitions; ``slots`` is how many runs the
    instance runs at once.
    """
    new = [u for u in ready if u.session_id not in existing]
    old = [u for u in ready if u.session_id in existing]
    if len(ready) <= threshold or size < 2:
        return [RunBatch((u,)) for u in ready], [u.session_id for u in new]
    by_learner: dict[str, list[ReadyUpload]] = {}
    for upload in new:  # learners in the order of their first upload, each learner's own order kept
        by_learner.setdefault(upload.learner_id, []).append(upload)
    groups = sorted(by_learner.values(), key=len, reverse=True)  # stable: ties keep the ready order
    runs = [RunBatch(tuple(g[i : i + size])) for g in groups if len(g) > size for i in range(0, len(g), size)]
    groups = [own for own in groups if len(own) <= size]
    count = sum(len(own) for own in groups)
    # As many runs as run slots (more when `size` demands), balanced: each learner to the lightest.
    bins: list[list[ReadyUpload]] = [
        [] for _ in range(max(math.ceil(count / size), min(slots, len(groups)), 1))
    ]
    for own in groups:
        lightest = min(bins, key=len)
        if len(lightest) + len(own) > size:
            lightest = []
            bins.append(lightest)
        lightest += own
    runs += [RunBatch(tuple(members)) for members in bins if members]
    runs += [RunBatch((u,)) for u in old]
    return runs, [u.session_id for run in runs for u in run.uploads if u.session_id not in existing]
