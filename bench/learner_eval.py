"""The offline analyzer on real learner essays: today's code from git vs this tree, side by side in one run.

Each essay (``bench/learner_data.py``: CoNLL-2013 and CoNLL-2014 test essays, NUCLE; with ``--fce``
also FCE) is analysed as one session's transcript, by the analyzer of commit ``--learner-before``
(``git archive`` into a temporary folder, run from there) and by this tree's, each in a fresh
process. Per essay set it prints, against the gold annotations mapped to the taxonomy:

- pattern precision: a reported pattern (of a type the annotation has: the six grammar types, run-on
  and incomplete sentences, connectors) has >= 1 gold error of that type in the essay;
- example precision: a quoted example overlaps a gold error of its type (a missing word: its
  position falls inside the quote);
- recall of recurring grammar types: the essay has >= 2 gold errors of the type, and it was reported;
- essays answered ``other`` (nothing recurring found), and how many of those had a recurring type;
- the same for a baseline that names the three commonest grammar types (by gold count in the
  development set) for every essay without reading it;
- analysis time per 1,000 words after the model is loaded, and the load time.

Development and held-out sets: the rules up to rules-v5 were developed on CoNLL-2013 and FCE train,
rules-v6 on CoNLL-2013 alone; CoNLL-2014 and FCE test were only ever measured (``--learner-sets``
chooses; the printout labels each).
Then, in a process that has loaded the Whisper model and transcribed a fixture too, the peak RSS
of a run that analyses the held-out essays (``--learner-memory``; the goal is under 1 GB).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.learner_data import GRAMMAR, MAPPED, Essay, load
from bench.run_start import checkout

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
BEFORE = "052d7e3"  # main before rules-v6: the rules-v5 analyzer (cf483e0 is rules-v2, before issue 23)
DEV_SETS = {"conll13", "fce-train"}
BASELINE_FROM = {
    "conll13": "conll13",
    "conll14": "conll13",
    "fce-train": "fce-train",
    "fce-test": "fce-train",
}

# Runs in a fresh interpreter with PYTHONPATH at a tree: essays in on stdin, insights and times out.
_WORKER = """
import json, resource, sys, time
t0 = time.perf_counter()
from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
analyzer = RuleBasedAnalyzer()
analyzer.analyze("I went to the market yesterday and bought some apples.")  # loads a model, if any
load_s = time.perf_counter() - t0
texts = json.load(sys.stdin)
out = []
for text in texts:
    start = time.perf_counter()
    analysis = analyzer.analyze(text).analysis
    elapsed = time.perf_counter() - start
    out.append({"s": elapsed, "insights": [
        {"pattern_id": i.pattern_id, "frequency": i.frequency, "examples": i.examples}
        for i in analysis.insights], "summary": analysis.summary})
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"load_s": load_s, "results": out, "peak_rss_mb": rss, "version": analyzer.prompt_version}, sys.stdout)
"""
# The same analysis after loading the offline speech recognizer and transcribing a fixture.
_WITH_WHISPER = """
import json, resource, sys
from pipeline.providers.speech_to_text.offline import FasterWhisperSpeechToText
from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
stt = FasterWhisperSpeechToText()
from pathlib import Path
text = stt.transcribe(Path(sys.argv[1]), language="en").text
analyzer = RuleBasedAnalyzer()
analyzer.analyze(text)
for essay in json.load(sys.stdin):
    analyzer.analyze(essay)
json.dump({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, sys.stdout)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--learner-sets",
        default="conll13,conll14",
        help="essay sets to score (conll13, conll14; fce-train, fce-test need --fce)",
    )
    parser.add_argument(
        "--fce",
        action="store_true",
        help="also score FCE train and test: you accept its licence (non-commercial research and education)",
    )
    parser.add_argument("--learner-before", default=BEFORE, help="the commit whose analyzer is 'before'")
    parser.add_argument(
        "--learner-memory", action=argparse.BooleanOptionalAction, default=True,
        help="measure peak RSS with the Whisper model loaded too",
    )  # fmt: skip


def analyse(root: Path, texts: list[str]) -> dict:
    """Every text through the analyzer of the tree at ``root``, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], input=json.dumps(texts), cwd=root, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def _overlaps(a: int, b: int, error_start: int, error_end: int, text: str = "") -> bool:
    if error_start == error_end:  # a missing word: its position is inside the quote or next to it
        return a - len(text[error_start:a]) <= error_start <= b + len(text[b:error_start]) and not (
            text[error_start:a].strip() or text[b:error_start].strip()
        )
    return error_start < b and error_end > a


def example_hits(essay: Essay, pattern_id: str, example: str) -> bool:
    """Whether some occurrence of the quote overlaps a gold error of ``pattern_id``."""
    errors = [(e.start, e.end) for e in essay.errors if e.pattern_id == pattern_id]
    pos = essay.text.find(example)
    while pos >= 0:
        if any(_overlaps(pos, pos + len(example), s, e, essay.text) for s, e in errors):
            return True
        pos = essay.text.find(example, pos + 1)
    return False


class Score:
    """Counts for one analyzer (or the baseline) on one essay set."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()
        self.by_type: dict[str, Counter[str]] = {t: Counter() for t in MAPPED}

    def add(self, essay: Essay, reported: list[tuple[str, list[str]]]) -> None:
        c = self.c
        ids = {pid for pid, _ in reported}
        recurring = {t for t in GRAMMAR if essay.count(t) >= 2}
        c["essays"] += 1
        c["words"] += len(essay.text.split())
        c["recurring"] += len(recurring)
        c["recalled"] += len(recurring & ids)
        c["any_grammar"] += bool(ids & set(GRAMMAR))
        if ids <= {"other"}:
            c["other"] += 1
            c["other_with_recurring"] += bool(recurring)
        c["no_recurring"] += not recurring
        for pid, examples in reported:
            if pid not in essay.annotated:
                continue
            real = essay.count(pid) >= 1
            hits = sum(example_hits(essay, pid, x) for x in examples)
            t = self.by_type[pid]
            t["reported"] += 1
            t["real"] += real
            t["examples"] += len(examples)
            t["hits"] += hits
            prefix = "g_" if pid in GRAMMAR else "s_"
            c[prefix + "reported"] += 1
            c[prefix + "real"] += real
            c[prefix + "examples"] += len(examples)
            c[prefix + "hits"] += hits
        for t in recurring:
            self.by_type[t]["recurring"] += 1
            self.by_type[t]["recalled"] += t in ids


def _ratio(n: int, d: int) -> str:
    return f"{n}/{d} = {n / d:.2f}" if d else "n/a"


def _lines(name: str, s: Score, *, examples: bool = True) -> list[str]:
    c = s.c
    out = [
        f"    {name}: pattern precision grammar {_ratio(c['g_real'], c['g_reported'])}, "
        f"all mapped {_ratio(c['g_real'] + c['s_real'], c['g_reported'] + c['s_reported'])}",
    ]
    if examples:
        out.append(
            f"      example precision grammar {_ratio(c['g_hits'], c['g_examples'])}, "
            f"all mapped {_ratio(c['g_hits'] + c['s_hits'], c['g_examples'] + c['s_examples'])}"
        )
    out.append(
        f"      recall of recurring grammar types {_ratio(c['recalled'], c['recurring'])}; "
        f"essays with a grammar pattern {c['any_grammar']}/{c['essays']}; answered 'other' "
        f"{_ratio(c['other'], c['essays'])} ({c['other_with_recurring']} of them with a recurring type; "
        f"{c['no_recurring']} essays have none)"
    )
    per_type = []
    for t, k in s.by_type.items():
        if k["reported"] or k["recurring"]:
            short = t.split(".")[1]
            per_type.append(
                f"{short} rep {k['real']}/{k['reported']} ex {k['hits']}/{k['examples']} "
                f"rec {k['recalled']}/{k['recurring']}"
            )
    out.append("      by type: " + "; ".join(per_type))
    return out


def baseline_types(essays: list[Essay]) -> list[str]:
    counts = Counter(e.pattern_id for essay in essays for e in essay.errors if e.pattern_id in GRAMMAR)
    return [t for t, _ in counts.most_common(3)]


def run(args: argparse.Namespace) -> bool:
    sets = [s.strip() for s in args.learner_sets.split(",") if s.strip()]
    if args.fce:
        sets += [s for s in ("fce-train", "fce-test") if s not in sets]
    licensed = [s for s in sets if s.startswith("fce")]
    if licensed and not args.fce:
        raise SystemExit(
            "FCE is licensed for non-commercial research and education only: pass --fce to accept"
        )
    data = load(sorted(set(sets) | {BASELINE_FROM[s] for s in sets}))
    out = sys.stdout
    with tempfile.TemporaryDirectory() as tmp:
        before_root = checkout(args.learner_before, Path(tmp) / "before")
        trees = {f"before ({args.learner_before})": before_root, "after (this tree)": ROOT}
        results = {
            label: {s: analyse(root, [e.text for e in data[s]]) for s in sets}
            for label, root in trees.items()
        }
    out.write(
        "\nlearner_eval: the offline analyzer on real learner essays (gold errors mapped to the taxonomy)\n"
    )
    for s in sets:
        essays = data[s]
        words = sum(len(e.text.split()) for e in essays)
        role = "development set" if s in DEV_SETS else "held-out set (never tuned on)"
        out.write(f"  {s}: {len(essays)} essays, {words} words, {role}\n")
        for label, per_set in results.items():
            r = per_set[s]
            score = Score()
            for essay, result in zip(essays, r["results"], strict=True):
                score.add(essay, [(i["pattern_id"], i["examples"]) for i in result["insights"]])
            secs = sum(x["s"] for x in r["results"])
            out.write("\n".join(_lines(f"{label} [{r['version']}]", score)) + "\n")
            out.write(
                f"      time {1000 * secs / words * 1000:.1f} ms per 1,000 words after load "
                f"(load {r['load_s']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB)\n"
            )
        top3 = baseline_types(data[BASELINE_FROM[s]])
        base = Score()
        for essay in essays:
            base.add(essay, [(t, []) for t in top3])
        names = ", ".join(t.split(".")[1] for t in top3)
        out.write(
            "\n".join(
                _lines(
                    f"baseline, three commonest types of {BASELINE_FROM[s]} ({names})", base, examples=False
                )
            )
            + "\n"
        )
    if args.learner_memory:
        held_out = [e.text for s in sets if s not in DEV_SETS for e in data[s]] or [
            e.text for e in data[sets[0]]
        ]
        audio = ROOT / "tests" / "fixtures" / "audio" / "learner-market.webm"
        done = subprocess.run(
            [sys.executable, "-c", _WITH_WHISPER, str(audio)], input=json.dumps(held_out), cwd=ROOT,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rss = json.loads(done.stdout)["peak_rss_mb"]
        out.write(
            f"  memory: Whisper tiny.en loaded and a fixture transcribed, then {len(held_out)} essays analysed: "
        )
        out.write(f"peak RSS {rss:.0f} MB (goal < 1024 MB)\n")
    return True
