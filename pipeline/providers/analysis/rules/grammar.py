"""Grammar rules of the offline analyzer: agreement, articles, past-time tense, plurals.

Without a parser these are surface patterns, so each one is anchored on words that make the error
unambiguous ("she don't", "a apple", "yesterday I go", "two friend") and guarded against the
common correct constructions that share the surface ("does she go", "let it go", "since last
week", "a two hour drive").
"""

from __future__ import annotations

import re

from pipeline.providers.analysis.rules.text import Doc, Finding, count_of, pick_examples, wordset

# A subject after one of these is governed by it ("does she like", "let it go", "to make it work").
_GOVERNING = wordset(
    """do does did don't doesn't didn't can could will would should shall may might must cannot can't
    won't wouldn't couldn't shouldn't let lets make makes made help helps helped see saw watch hear heard
    to"""
)
# "the number of people is", "burden for people is", "tracking people is": people is not the subject.
_NOT_THE_SUBJECT = wordset("of for to with")
_BASE_VERBS = (
    "have|go|want|like|need|live|work|come|know|say|make|take|play|watch|get|eat|love|study|speak|cook"
    "|drive|do|think|feel|look|buy|visit|teach|use|sleep|try|call|walk|swim|stay|wait|help|win|miss|show"
)
_FAMILY = (
    "mother|father|mom|mum|dad|brother|sister|friend|boss|wife|husband|son|daughter|teacher|cousin|uncle"
    "|aunt|grandmother|grandfather|grandma|grandpa|neighbour|neighbor|girlfriend|boyfriend|partner|manager"
)
_AGREEMENT = [
    re.compile(r"(?:he|she|it)\s+(?:don'?t|do\s+not)\b"),
    re.compile(rf"(?:he|she|my\s+(?:{_FAMILY}))\s+(?:{_BASE_VERBS})\b"),
    re.compile(r"it\s+(?:have|go|look|taste|need|seem|take|make)\b"),
    re.compile(r"(?:they|we|you|people|children)\s+(?:was|is|has|does|doesn'?t|goes|wants|likes)\b"),
    re.compile(r"i\s+(?:is|are|has|does|goes|wants|likes|needs|doesn'?t)\b"),
    re.compile(r"(?:he|she)\s+are\b"),
]


def subject_verb_agreement(doc: Doc) -> Finding | None:
    spans = sorted(
        {
            (m.start(), m.end())
            for rx in _AGREEMENT
            for m in doc.find(rx)
            if doc.prev_word(m.start()) not in _GOVERNING
            and not (
                doc.low.startswith(("people", "children"), m.start())
                and (doc.prev_word(m.start()) in _NOT_THE_SUBJECT or doc.prev_word(m.start()).endswith("ing"))
            )
        }
    )
    if not spans:
        return None
    return Finding(
        pattern_id="grammar.subject_verb_agreement",
        severity="high",
        frequency=len(spans),
        examples=pick_examples((doc.window(a, b) for a, b in spans), doc.text),
        detail=f"{count_of(len(spans), 'verb')} not agreeing with the subject, e.g. '{doc.text[slice(*spans[0])]}'.",
        suggestion=(
            "After he, she, it or one person (my sister), use doesn't and add -s to the verb: she doesn't, "
            "he goes, my sister has. After they or we use were/are, never was/is."
        ),
        next_step="Check every he/she verb: say 'she doesn't', 'he goes', 'my sister has'.",
        spans=tuple(spans),
    )


# --- articles ---------------------------------------------------------------------------------------
_ARTICLE = re.compile(r"(an?)\s+([a-z][a-z']*)")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")
_VOWEL_LETTER_CONSONANT_SOUND = tuple(sorted(wordset("uni use usu uti ute ura uro uri eu ewe one once uk")))
# Words after "a"/"an" that show it is not an article at all ("plan a and b") or an ASR hesitation.
_NOT_A_NOUN_PHRASE = wordset(
    """and or is in on at of it its as an a if i to are was also each either every ever even out our up
    us over into only um uh er erm oh eh ah"""
)
_LETTER_NAMES = wordset("plan vitamin grade type option point class group section part category size")


def _vowel_sound(w: str) -> bool:
    if w.startswith(_SILENT_H):
        return True
    return w[0] in "aeiou" and not w.startswith(_VOWEL_LETTER_CONSONANT_SOUND)


def articles(doc: Doc) -> Finding | None:
    a_errors: list[tuple[int, int]] = []
    an_errors: list[tuple[int, int]] = []
    for m in doc.find(_ARTICLE):
        article, word, original = m.group(1), m.group(2), doc.text[m.start(2) : m.end(2)]
        if word in _NOT_A_NOUN_PHRASE or (len(original) > 1 and original.isupper()):
            continue  # "plan a and b", acronyms: pronunciation unknown
        if article == "a" and doc.prev_word(m.start()) in _LETTER_NAMES:
            continue
        if article == "a" and _vowel_sound(word):
            a_errors.append(m.span())
        elif article == "an" and not _vowel_sound(word):
            an_errors.append(m.span())
    total = len(a_errors) + len(an_errors)
    if not total:
        return None
    spans = sorted(a_errors + an_errors)
    return Finding(
        pattern_id="grammar.articles",
        severity="medium",
        frequency=total,
        examples=pick_examples((doc.window(a, b, 1) for a, b in spans), doc.text),
        detail=" and ".join(
            f"'{article}' before a {sound} sound {count_of(len(found), 'time')} (e.g. '{doc.text[slice(*found[0])]}')"
            for article, sound, found in (("a", "vowel", a_errors), ("an", "consonant", an_errors))
            if found
        )
        + ".",
        suggestion=(
            "Choose by the first sound of the next word: 'an' before a vowel sound (an apple, an hour, "
            "an interesting film), 'a' before a consonant sound (a banana, a university, a one-way ticket)."
        ),
        next_step="Before a word starting with a vowel sound, say 'an': an apple, an old friend, an hour.",
        spans=tuple(spans),
    )


# --- verb tense: past-time marker next to a present-tense verb --------------------------------------
_NUMBER_WORDS = "a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\\s+few|few|several|many|\\d+"
_PAST_MARKER = re.compile(
    r"(?:yesterday|last\s+(?:night|week|weekend|month|year|summer|winter|spring|autumn|fall|time|monday"
    r"|tuesday|wednesday|thursday|friday|saturday|sunday)"
    rf"|(?:{_NUMBER_WORDS})\s+(?:minutes?|hours?|days?|weeks?|months?|years?)\s+ago"
    r"|when\s+i\s+was\s+(?:a\s+)?(?:child|kid|young|little|teenager|student|boy|girl))\b",
)
# Concrete action verbs only: "I have", "I think", "I feel", "I see" are too often correct
# present-tense comments about now ("yesterday was fun, I have lots of photos").
_PRESENT_VERB = re.compile(
    r"(?:i|we|they|you|he|she|it)\s+(?:go|goes|buy|buys|eat|eats|take|takes|make|makes|come|comes|get"
    r"|gets|meet|meets|visit|visits|play|plays|watch|watches|walk|walks|cook|cooks|stay|stays|leave"
    r"|leaves|drive|drives|spend|spends|swim|swims|run|runs|sleep|sleeps|wake|wakes|arrive|arrives"
    r"|decide|decides|find|finds|show|shows|travel|travels|call|calls|give|gives|bring|brings|begin|begins|start|starts|win"
    r"|wins|lose|loses)\b",
)
# "since last week I have", "in the last year": the marker does not put the clause in the past.
_MARKER_NEUTRALISED_BY = wordset("since the this for over during until every")
# A present-time word or a clause boundary between marker and verb means the verb may rightly be
# present: "yesterday I went home and today I go to work", "I go on Mondays but last week I didn't".
_PRESENT_TIME_OR_NEW_CLAUSE = wordset(
    """today now tomorrow next usually every always often sometimes normally nowadays but although
    though however whereas because except"""
)
_TENSE_REACH_WORDS = 8


def verb_tense(doc: Doc) -> Finding | None:
    markers = [m for m in doc.find(_PAST_MARKER) if doc.prev_word(m.start()) not in _MARKER_NEUTRALISED_BY]
    seen: dict[int, tuple[int, int]] = {}
    for marker in markers:
        sent = doc.sentence_at(marker.start())
        lo_word = max(sent.first_word, doc.word_index(marker.start()) - _TENSE_REACH_WORDS)
        hi_word = min(sent.first_word + sent.n_words, doc.word_index(marker.end()) + _TENSE_REACH_WORDS)
        lo = doc.starts[lo_word]
        hi = doc.ends[hi_word - 1] if hi_word > 0 else marker.end()
        for verb in doc.find(_PRESENT_VERB, lo, max(hi, lo)):
            if verb.start() in seen:
                continue
            a, b = sorted((verb.start(), marker.start()))
            between = doc.words[doc.word_index(a) : doc.word_index(b)]
            if (
                any(w in _PRESENT_TIME_OR_NEW_CLAUSE for w in between)
                or doc.prev_word(verb.start()) in _GOVERNING
            ):
                continue
            seen[verb.start()] = (min(marker.start(), verb.start()), max(marker.end(), verb.end()))
    if not seen:
        return None
    spans = [seen[k] for k in sorted(seen)]
    return Finding(
        pattern_id="grammar.verb_tense",
        severity="high",
        frequency=len(spans),
        examples=pick_examples((doc.window(a, b, 1) for a, b in spans), doc.text),
        detail=(
            f"{count_of(len(spans), 'present-tense verb')} describing a finished past event (next to "
            f"'yesterday', 'last week' or '... ago'), e.g. '{doc.text[slice(*spans[0])]}'."
        ),
        suggestion=(
            "When you talk about yesterday, last week or '... ago', put every verb in the past: "
            "I go -> I went, I buy -> I bought, we eat -> we ate, she takes -> she took."
        ),
        next_step="When you say 'yesterday' or 'last week', check the next verb is past: went, bought, ate.",
        spans=tuple(spans),
    )


# --- plurals: quantity word + singular countable noun -----------------------------------------------
_COUNTABLE = (
    "friend|day|week|month|year|hour|minute|time|book|car|place|country|city|person|child|student|teacher"
    "|game|movie|film|song|picture|photo|restaurant|shop|store|house|room|language|problem|question|idea"
    "|reason|example|brother|sister|cousin|kid|dog|cat|apple|egg|ticket|dollar|euro|kilometer|kilometre"
    "|mile|class|lesson|job|bag|shirt|dress|shoe|museum|beach|bottle|cup|glass|sandwich|cake|pizza|thing"
    "|orange|banana|flower|tree|hotel|street|bus|train|player|word|page|guest|girl|boy|woman|man|horse"
    "|animal|bird|colleague|customer|meeting|project|email|client|computer|office"
)
_PLURAL_ADJ = (
    "new|old|good|big|small|different|best|close|other|nice|beautiful|young|little|great|long|short|delicious"
)
_PLURAL = re.compile(
    rf"(?:(?P<q>many|several|two|three|four|five|six|seven|eight|nine|ten|twenty|few|both|these|those|various|\d+)"
    rf"|one\s+of\s+(?:the|my|his|her|our|their|your)(?:\s+(?:{_PLURAL_ADJ}|\w+est))?)"
    rf"\s+(?:(?:{_PLURAL_ADJ})\s+)?(?:{_COUNTABLE})\b(?![-'])(?!\s+old\b)",
)


def plurals(doc: Doc) -> Finding | None:
    spans = [
        m.span()
        for m in doc.find(_PLURAL)
        if not (
            m.group("q")
            and m.group("q") != "few"
            and doc.prev_word(m.start()) in ("a", "an", "the", "every", "each")
        )
    ]
    if not spans:
        return None
    return Finding(
        pattern_id="grammar.plurals",
        severity="medium",
        frequency=len(spans),
        examples=pick_examples((doc.window(a, b, 1) for a, b in spans), doc.text),
        detail=(
            f"{count_of(len(spans), 'singular noun')} after a number or quantity word, "
            f"e.g. '{doc.text[slice(*spans[0])]}'."
        ),
        suggestion=(
            "After a number, many, several, these or 'one of the', the noun is plural: two friends, "
            "many days, one of the best places, three children."
        ),
        next_step="After any number or 'many', add -s to the noun: two friends, many places.",
        spans=tuple(spans),
    )
