"""Article omission: a singular countable noun with no determiner after a verb or preposition.

"I went to market", "she bought car", "he is teacher", "in park". Without a parser the rule cannot
know whether a noun is countable, so it only looks for nouns from a small curated list of concrete
countable nouns that learners use every day (places, people, objects, transport). A curated list
misses nouns it does not know, but it never flags an uncountable or mass noun (music, water,
advice, information, homework, news), a proper noun, a plural or a gerund, which guessing from
word shapes would. The list deliberately leaves out nouns with common zero-article uses: set
phrases (at home, to school, by bus is covered by skipping "by", at night, go to bed, in time,
on foot, at work, for breakfast, in hospital, at university, in class, in town), unique roles
("as manager of", "president"), and nouns that are often uncountable (room, time, film, cake).

A flag needs, next to each other in one sentence:
  trigger (verb or preposition) [+ one common adjective] + listed noun + a clause boundary
where the boundary (punctuation, end of text, a preposition, conjunction, time word or pronoun)
shows the noun heads its phrase: "bought car seats" and "country music" are not flagged.
"like" is never a trigger ("I like football" is correct), nor is "by" (by car, by bus, by hand).
"""

from __future__ import annotations

from pipeline.providers.analysis.rules.text import Doc, Finding, count_of, pick_examples, wordset

COUNTABLE_NOUNS = wordset(
    """car bike bicycle taxi bus train plane boat ship motorbike
    house apartment kitchen garden park market supermarket shop store mall restaurant cafe
    hotel museum cinema theatre theater library bank station airport pharmacy bakery beach lake
    river mountain village city country street road bridge office factory company zoo castle
    teacher doctor nurse student engineer lawyer driver waiter waitress pilot farmer dentist
    friend boyfriend girlfriend neighbour neighbor colleague baby child kid brother sister husband
    wife cousin dog cat horse bird
    phone computer laptop camera ticket passport bag wallet umbrella bottle box book letter
    job problem question idea mistake decision plan party trip dress shirt jacket coat hat chair
    desk window door flower tree picture photo movie exam lesson accident"""
)
# Also common verbs: after "to" or a verb taking a bare infinitive they are verbs ("to park", "let me book").
_ALSO_VERBS = wordset(
    """park shop store bank taxi bus train ship bike bicycle boat plane book plan phone picture photo
    house party dress box bag bottle question trip mistake friend kid dog chair flower coat bridge
    beach station engineer husband garden doctor nurse pilot"""
)
_BARE_INFINITIVE_BEFORE = wordset("to let make made help see saw watch hear heard")
# Idioms with a listed noun and no article: "the person in question", "run for office", "on camera".
_SET_PHRASES = frozenset(
    {
        ("in", "office"),
        ("for", "office"),
        ("in", "question"),
        ("for", "company"),
        ("in", "company"),
        ("in", "store"),
        ("on", "camera"),
        ("in", "flower"),
        ("in", "house"),
        ("in", "lesson"),
        ("in", "theatre"),
        ("in", "theater"),
    }
)
# "go to market" lacks an article; "bring a product to market" and "time to market" do not.
_GO_VERBS = wordset("go goes went going gone walk walked drive drove come came")

_PREPOSITIONS = wordset(
    """in on at to into from with without near under behind inside outside opposite through across
    for about as"""
)
_VERBS = wordset(
    """buy buys bought have has had want wants wanted need needs needed get gets got find finds found
    rent rents rented sell sells sold order orders ordered lose loses lost break breaks broke take
    takes took bring brings brought borrow borrows borrowed build builds built
    drive drives drove ride rides rode open opens opened visit visits visited see sees saw
    is was am are were be been it's he's she's that's there's become becomes became"""
)
TRIGGERS = _PREPOSITIONS | _VERBS
# Before a verb trigger these make it an adjective or noun: "an open window", "the lost key".
_DETERMINERS = wordset("a an the my your his her its our their this that these those no some any")
_ADJECTIVES = wordset(
    """new old big small nice good bad beautiful little young great long short cheap expensive
    famous local huge tiny lovely quiet busy modern nearby"""
)
# A word after the noun that ends its phrase: the noun is the head, not a modifier ("car seats").
_BOUNDARY = wordset(
    """and or but so because when then yesterday today tomorrow tonight now last next every with for
    in on at to from near by about after before since until while where which that who there here
    again too also yet um uh er erm i you he she we they it"""
)


def _omission(doc: Doc, i: int) -> int | None:
    """The index of the trigger word if word i is a listed noun missing its article, else None."""
    noun = doc.words[i]
    if noun not in COUNTABLE_NOUNS or doc.text[doc.starts[i]].isupper():  # proper noun: Market Street
        return None
    t = i - 1
    if doc.word(t) in _ADJECTIVES:  # "bought new car"; "a new car" then fails the trigger test
        t -= 1
    trigger = doc.word(t)
    if t < 0 or trigger not in TRIGGERS or not all(doc.adjacent(k) for k in range(t, i)):
        return None
    if (trigger, noun) in _SET_PHRASES:
        return None
    if t == i - 1 and noun in _ALSO_VERBS and trigger in _BARE_INFINITIVE_BEFORE:
        return None
    if trigger in _VERBS and doc.word(t - 1) in _DETERMINERS:
        return None
    if trigger == "as" and doc.word(t - 1) in ("such", "well", "same"):
        return None
    if noun == "market" and trigger == "to" and doc.word(t - 1) not in _GO_VERBS:
        return None
    after, after2 = doc.word(i + 1), doc.word(i + 2)
    if doc.word(t - 1) == noun or (after == "to" and after2 == noun):
        return None  # "from door to door", "city to city"
    if after in ("and", "or") and after2 in COUNTABLE_NOUNS:
        return None  # paired nouns go bare: "as husband and wife", "between teacher and student"
    follow = doc.text[doc.ends[i] : doc.ends[i] + 2]
    if follow[:1] in ("-", "/", "_", "\\") or (follow[:1] == "." and follow[1:].isalnum()):
        return None  # part of a compound or a name: "problem-free", "car-sharing", "window.onload"
    if i + 1 < len(doc.words) and doc.adjacent(i) and doc.words[i + 1] not in _BOUNDARY:
        return None  # the noun modifies another word ("bought car seats") or the phrase goes on
    return t


def omission_spans(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) character spans from the trigger to the noun, in text order."""
    spans = []
    for i, word in enumerate(doc.words):
        if word in COUNTABLE_NOUNS:
            t = _omission(doc, i)
            if t is not None:
                spans.append((doc.starts[t], doc.ends[i]))
    return spans


def missing_articles(doc: Doc) -> Finding | None:
    spans = omission_spans(doc)
    if not spans:
        return None
    return Finding(
        pattern_id="grammar.articles",
        severity="medium",
        frequency=len(spans),
        examples=pick_examples((doc.window(a, b, 1) for a, b in spans), doc.text),
        detail=(
            f"{count_of(len(spans), 'singular noun')} without an article, "
            f"e.g. '{doc.text[slice(*spans[0])]}'."
        ),
        suggestion=(
            "One thing that can be counted needs a/an or the (or my, this...) in front: "
            "I bought a car, he is a teacher, we met in the park. No article for things you cannot count "
            "(music, advice) or in fixed phrases (at home, by bus, go to school)."
        ),
        next_step="Before one countable thing (car, park, teacher), say 'a' or 'the': a car, the park.",
        spans=tuple(spans),
    )
