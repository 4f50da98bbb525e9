"""A burst is spread over the run slots, each learner's sessions in one run, in order."""

from __future__ import annotations

from collections import Counter

from pipeline.intake.batching import batch_uploads
from pipeline.intake.tick import ReadyUpload


def _upload(learner: str, session: str, at: float = 0.0) -> ReadyUpload:
    return ReadyUpload(learner, session, f"{learner}/{session}/transcript.txt", "v1", at, False)


def _ready(learners: int, per_learner: int) -> list[ReadyUpload]:
    return [_upload(f"l{i % learners}", f"s{i:03d}", float(i)) for i in range(learners * per_learner)]


def test_a_burst_fills_the_free_slots_and_keeps_each_learner_in_one_run() -> None:
    ready = _ready(40, 3)  # 120 sessions from 40 learners
    runs, keys = batch_uploads(ready, set(), threshold=3, size=50, slots=4)
    assert sorted(len(r.uploads) for r in runs) == [30, 30, 30, 30]
    runs_of = Counter(learner for r in runs for learner in r.learner_ids)
    assert set(runs_of.values()) == {1}, "no learner in two runs of the tick"
    for run in runs:  # each learner's sessions in the order they became ready
        for learner in run.learner_ids:
            mine = [u.session_id for u in run.uploads if u.learner_id == learner]
            assert mine == sorted(mine)
    assert sorted(keys) == sorted(u.session_id for u in ready)
    assert keys == [u.session_id for r in runs for u in r.uploads], "each run's keys are a contiguous range"


def test_size_bounds_the_runs_when_slots_are_few() -> None:
    runs, _ = batch_uploads(_ready(100, 2), set(), threshold=3, size=50, slots=1)
    assert [len(r.uploads) for r in runs] == [50, 50, 50, 50]


def test_a_learner_with_more_than_a_run_gets_runs_of_its_own() -> None:
    ready = _ready(1, 7) + [_upload("l1", "x1"), _upload("l2", "x2")]
    runs, _ = batch_uploads(ready, set(), threshold=3, size=3, slots=4)
    own = [r for r in runs if r.learner_ids == ["l0"]]
    assert [len(r.uploads) for r in own] == [3, 3, 1]
    assert all("l0" not in r.learner_ids for r in runs if r not in own)


def test_few_uploads_and_reuploads_get_runs_of_their_own() -> None:
    ready = _ready(3, 1)
    runs, keys = batch_uploads(ready, set(), threshold=3, size=50, slots=4)
    assert [len(r.uploads) for r in runs] == [1, 1, 1] and len(keys) == 3
    runs, keys = batch_uploads(_ready(5, 1), {"s000"}, threshold=3, size=50, slots=1)
    assert runs[-1].session_ids == ["s000"] and "s000" not in keys
