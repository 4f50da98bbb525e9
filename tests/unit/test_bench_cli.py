"""The bench command line: every bench registers its options without clashing with another's."""

from __future__ import annotations

import pytest

from bench.__main__ import BENCHES, main


def test_every_bench_is_listed_and_the_options_do_not_clash(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    usage = capsys.readouterr().out
    for name in BENCHES:
        assert name in usage
