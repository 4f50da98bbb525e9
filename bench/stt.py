"""Offline speech-to-text: word error rate, kept learner errors, real-time factor and peak RAM.

Each figure comes from a fresh child process (so ``ru_maxrss`` is the recognizer's own peak, model
load included): once on the committed fixtures (``tests/fixtures/audio/references.json``: four
learner-style espeak-ng paragraphs, two voices, two speeds, 18 planted errors, 5 fillers, plus the
format sentence ``speech.wav``) and once on a long recording (``--stt-minutes``, default 60) built
from the same paragraphs with pauses and encoded as 16 kbit/s opus, which shows memory staying flat.

pocketsphinx, the recognizer this replaced, is no dependency any more. Its figures below were
measured once on the same fixtures (2-core machine, 2026-11-24) in a throwaway environment:
``python -m venv /tmp/ps-venv && /tmp/ps-venv/bin/pip install "pocketsphinx>=5,<6" av numpy pydantic``,
the old provider from git (``git archive edbbf83 pipeline | tar -x -C /tmp/ps-src``), and
``cd /tmp/ps-src && PYTHONPATH=/tmp/ps-src:$REPO /tmp/ps-venv/bin/python -m bench.stt --child pocketsphinx``, the same
child this bench runs for faster-whisper. Pass ``--stt-baseline-python /tmp/ps-venv/bin/python``
to measure it again in the same run instead of printing the recorded figures.

    pocketsphinx 5.1.1 (en-us):    WER 0.415, kept errors 6/18, fillers 0/5, RTF 0.360, peak RSS 171 MB
    faster-whisper tiny.en (int8): WER 0.070, kept errors 10/18, fillers 5/5, RTF 0.178, peak RSS 299 MB
    faster-whisper, long recording: 15 min peak RSS 440 MB (RTF 0.127); 60 min peak RSS 436 MB (RTF 0.094)

pocketsphinx was not run on the long recording (it decoded the whole file into memory first; the
issue measured ~1 GB at 4 h). RTFs here are wall-clock on 2 cores shared with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.speech_metrics import AUDIO, fillers, kept, references, wer

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "edbbf83"  # the last commit with the pocketsphinx provider
POCKETSPHINX = {
    "wer": 0.415,
    "kept": 6,
    "errors": 18,
    "fillers": 0,
    "fillers_ref": 5,
    "rtf": 0.360,
    "rss_mb": 171,
}
FIXTURES = [
    "speech.wav",
    "learner-market.webm",
    "learner-office.webm",
    "learner-holiday.webm",
    "learner-football.webm",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stt-minutes", type=float, default=60.0, help="length of the long recording")
    parser.add_argument("--stt-baseline-python", default=None, help="a python with pocketsphinx installed")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-file", default=None, help=argparse.SUPPRESS)


def _recognizer(kind: str):  # type: ignore[no-untyped-def]
    if kind == "pocketsphinx":  # only importable from the old tree (see the docstring)
        from pipeline.providers.speech_to_text.offline import PocketsphinxSpeechToText  # type: ignore[attr-defined]

        return PocketsphinxSpeechToText()
    from pipeline.providers.speech_to_text.offline import FasterWhisperSpeechToText

    return FasterWhisperSpeechToText()


def child(kind: str, long_file: str | None) -> dict[str, float]:
    """In a fresh process: recognise the fixtures (or ``long_file``) and report figures and peak RSS."""
    stt = _recognizer(kind)
    refs = references()
    totals = {
        "ref_words": 0.0,
        "errors_words": 0.0,
        "kept": 0.0,
        "errors": 0.0,
        "fillers": 0.0,
        "fillers_ref": 0.0,
    }
    audio_seconds = busy = 0.0
    if long_file:
        started = time.perf_counter()
        result = stt.transcribe(Path(long_file), language="en")
        busy, audio_seconds = time.perf_counter() - started, result.duration_seconds
        totals["words"] = len(result.text.split())
    else:
        stt.transcribe(AUDIO / "speech.webm", language="en")  # load the model outside the timings
        for name in FIXTURES:
            ref = refs[name]
            started = time.perf_counter()
            result = stt.transcribe(AUDIO / name, language="en")
            busy += time.perf_counter() - started
            audio_seconds += result.duration_seconds
            words = len(ref["text"].split())
            totals["ref_words"] += words
            totals["errors_words"] += wer(ref["text"], result.text) * words
            if name.startswith("learner-"):
                totals["kept"] += kept(ref["errors"], result.text)
                totals["errors"] += len(ref["errors"])
                totals["fillers"] += fillers(result.text)
                totals["fillers_ref"] += fillers(ref["text"])
    return {
        **totals,
        "wer": totals["errors_words"] / totals["ref_words"] if totals["ref_words"] else 0.0,
        "rtf": busy / audio_seconds,
        "audio_seconds": audio_seconds,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run_child(python: str, kind: str, long_file: Path | None = None, tree: Path = ROOT) -> dict:
    """The child runs in ``tree`` (first on sys.path: its ``pipeline``), with bench and tests from ROOT."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT}"}
    command = [
        python,
        "-m",
        "bench.stt",
        "--child",
        kind,
        *(["--child-file", str(long_file)] if long_file else []),
    ]
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def long_recording(path: Path, minutes: float) -> None:
    """The learner paragraphs with 1.5 s pauses, repeated to ``minutes``, as 16 kbit/s opus."""
    import av
    import numpy as np

    from pipeline.providers.speech_to_text.audio import SAMPLE_RATE, decode_pcm16k

    pause = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.int16)
    pieces = [np.concatenate([decode_pcm16k(AUDIO / name), pause]) for name in FIXTURES[1:]]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = 16_000
        written, total, i = 0, int(minutes * 60 * SAMPLE_RATE), 0
        while written < total:
            pcm = pieces[i % len(pieces)][: total - written]
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                out.mux(packet)
            written, i = written + len(pcm), i + 1
        for packet in stream.encode(None):
            out.mux(packet)


def _baseline(python: str | None) -> dict:
    if not python:
        return POCKETSPHINX
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", BASELINE_COMMIT, "pipeline"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        return _run_child(python, "pocketsphinx", tree=Path(tmp))


def _line(name: str, f: dict) -> str:
    return (
        f"  {name:<42} WER {f['wer']:.3f}  kept errors {f['kept']:.0f}/{f['errors']:.0f}  "
        f"fillers {f['fillers']:.0f}/{f['fillers_ref']:.0f}  RTF {f['rtf']:.3f}  peak RSS {f['rss_mb']:.0f} MB\n"
    )


def run(args: argparse.Namespace) -> bool:
    whisper = _run_child(sys.executable, "faster-whisper")
    baseline = _baseline(args.stt_baseline_python)
    source = "measured now" if args.stt_baseline_python else "recorded, see bench/stt.py"
    sys.stdout.write(f"\noffline speech-to-text on {whisper['audio_seconds']:.0f} s of committed fixtures:\n")
    sys.stdout.write(_line("faster-whisper tiny.en", whisper))
    sys.stdout.write(_line(f"pocketsphinx ({source})", baseline))
    sys.stdout.write(
        f"  -> WER {baseline['wer'] / max(whisper['wer'], 1e-9):.1f}x lower, "
        f"{baseline['rtf'] / whisper['rtf']:.1f}x faster, {whisper['rss_mb'] / baseline['rss_mb']:.1f}x the memory\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.webm"
        long_recording(path, args.stt_minutes)
        long = _run_child(sys.executable, "faster-whisper", path)
    sys.stdout.write(
        f"faster-whisper on {long['audio_seconds'] / 60:.1f} min of speech: peak RSS {long['rss_mb']:.0f} MB "
        f"(goal <= 600), RTF {long['rtf']:.3f}, {long['words']:.0f} words\n"
    )
    return long["rss_mb"] <= 600


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = parser.parse_args()
    sys.stdout.write(json.dumps(child(options.child, options.child_file)) + "\n")
