"""What the erasure tests share: learners' texts with words found nowhere else, and a byte search."""

from __future__ import annotations

import re
from pathlib import Path

ANA = "Yesterday I go to the zanzibar market and I buy a apple. Um, it was very very good. She don't like it."
ANA_2 = "Last week I goes to the quokka museum with my brother. It were very interesting, you know, very."
BOB = "On Monday I visit my grandmother and we cooks dinner together. He don't like fish, um, at all."
CAROL = "This morning I has a meeting with the narwhal team and we discuss about the plan for weeks."
CAROL_2 = "In the evening I plays football with friends and we was very tired after, but happy."


def carriers(root: Path, ids: list[str], phrases: list[str]) -> list[str]:
    """Files under ``root`` whose bytes hold an id (as a whole token) or a phrase."""
    pattern = re.compile(
        rb"(?<![A-Za-z0-9_-])(?:" + b"|".join(re.escape(i.encode()) for i in ids) + rb")(?![A-Za-z0-9_-])"
    )
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and (pattern.search(b := path.read_bytes()) or any(p.encode() in b for p in phrases))
    ]
