"""Word order: frequency adverbs in the wrong place and the indirect object in the wrong place.

Four surface rules, each anchored on a pronoun subject or a closed list of verbs so that correct
English with the same words stays silent:

- adverb after the main verb: "I go always", "she eats never meat", "we play often tennis".
  always/never/rarely/seldom are wrong there even at the end of a clause; usually/often/sometimes/
  normally/generally/frequently only when an object follows ("I drink usually coffee"), because
  "I go there often" or "it happens sometimes when..." are fine.
- "very much" before the object: "I like very much football" ("I like it very much" is fine).
- adverb before "be": "he always is late" -> "he is always late". Not "never was/were", which
  natives say ("I never was good at maths"), and not at the end of a clause ("as he always is").
- the indirect object: "give to him the book" (-> give him the book / give the book to him), and
  a pronoun straight after a verb that needs "to": "explain me the problem", "he said me that".
  "describe him" or "introduce me" alone are correct, so a determiner or wh-word must follow,
  and not one starting a time phrase ("I mentioned them the other day").

The subject must open its clause, so one inside a relative or embedded clause ("the way he talks
always annoys me", "where she usually is on Mondays") stays silent; on unpunctuated ASR text clause
starts are invisible, so there only a word like "what", "where" or "that" before it rules it out; before "be" only always,
never and usually are flagged ("it sometimes is necessary" is fine in writing).
"""

from __future__ import annotations

from pipeline.providers.analysis.rules.text import Doc, Finding, count_of, pick_examples, wordset

_SUBJECTS = wordset("i you he she we they it")
_STRICT_FREQ = wordset("always never rarely seldom")
_FREQ = _STRICT_FREQ | wordset("usually often sometimes normally generally frequently")
_BE = wordset("am is are was were")
# Not a main verb after a subject, or a verb taking a clause ("I think sometimes it is hard").
_AUXILIARIES_AND_CLAUSE_VERBS = wordset(
    """be been being do does did don't doesn't didn't have has had haven't hasn't hadn't will would
    can could shall should may might must won't wouldn't can't cannot couldn't shouldn't isn't
    aren't wasn't weren't ain't mustn't needn't also just almost still nearly hardly really only
    even actually probably certainly definitely maybe quite ever not instead then now already soon
    too so all both each think thought guess believe believed know knew feel felt say said mean
    meant suppose hope hoped realise realised realize realized notice noticed remember remembered
    forget forgot agree wish bet reckon admit doubt hear heard see saw understand understood expect
    expected find found imagine"""
)
_NOT_MAIN_VERB = _FREQ | _BE | _AUXILIARIES_AND_CLAUSE_VERBS
# After the adverb these end the clause or start a phrase, not an object.
_NOT_OBJECT = wordset(
    """and or but so because when if while though although since until before after as than then
    to in on at with for from into by about during like there here home too again yet now um uh"""
)
_CLAUSE_BREAK = wordset(
    "and or but so because when if while though although since until before after as than then um uh"
)
# The subject must open its clause (after punctuation or one of these), so that a subject inside a
# relative or embedded clause stays silent: "the way he talks always annoys me", "where she usually is".
_CLAUSE_OPENERS = wordset(
    """and but or so because when if then um uh er erm well yes no now today yesterday tomorrow also
    actually basically anyway okay ok though although while since until morning afternoon evening
    night weekend weekends summer winter spring autumn holidays mondays tuesdays wednesdays thursdays
    fridays saturdays sundays"""
)
# Without punctuation (raw ASR) clause starts are invisible: then only these words rule a subject out.
_EMBEDDING = wordset(
    """where what how as than who which whatever wherever however that way thing things everything
    something anything nothing all one"""
)
# Only these are wrong before "be" often enough: "it sometimes is necessary" is fine in writing.
_BEFORE_BE = wordset("always never usually")
# A verb straight after the adverb: the subject belonged to a relative clause ("what I eat never changes").
_VERB_AFTER = wordset(
    """is was are were has had have does did do makes made happens happened changes changed works
    worked goes went comes came gets got seems seemed looks looked takes took gives gave annoys
    annoyed helps helped surprises means meant sounds feels tastes depends matters ends starts"""
)
_LIKE_VERBS = wordset(
    """like likes liked love loves loved enjoy enjoys enjoyed miss misses missed hate hates hated
    prefer prefers preferred appreciate appreciated"""
)
_GIVE_VERBS = wordset(
    """give gives gave given giving send sends sent sending show shows showed shown bring brings
    brought lend lends lent offer offers offered pass passes passed hand hands handed sell sells sold
    teach teaches taught buy buys bought"""
)
_TO_VERBS = wordset(
    """explain explains explained explaining describe describes described describing say says said
    saying suggest suggests suggested suggesting mention mentions mentioned"""
)
_OBJECT_PRONOUNS = wordset("me him her us them")
_DETERMINER = wordset("the a an my your his our their some")
# After "give to him the": a time phrase or a quantity, not the thing given.
_NOT_AN_OBJECT_NOUN = wordset(
    """day next following same week weekend morning afternoon evening night whole other first last
    moment minute year month time bit little lot few"""
)
_WH = wordset("what how why where when who which")
_THAT_VERBS = wordset(
    "say says said saying suggest suggests suggested suggesting explain explained mention mentioned"
)


def _run(doc: Doc, i: int, n: int) -> bool:
    """Words i .. i+n-1 exist and are separated by whitespace only (one clause, no commas)."""
    return i + n <= len(doc.words) and all(doc.adjacent(k) for k in range(i, i + n - 1))


def _object_follows(doc: Doc, i: int) -> bool:
    """Word i+1 is adjacent and could start an object (not a clause break or a preposition)."""
    return _run(doc, i, 2) and doc.words[i + 1] not in _NOT_OBJECT


def _opens_clause(doc: Doc, i: int) -> bool:
    """Word i starts the text, follows punctuation, or follows a clause opener (or, unpunctuated, no embedder)."""
    if i == 0 or not doc.adjacent(i - 1) or doc.words[i - 1] in _CLAUSE_OPENERS:
        return True
    return not doc.punctuated and doc.words[i - 1] not in _EMBEDDING


def _very_much_misplaced(doc: Doc, i: int) -> bool:
    """'like very much football': the object comes after 'very much' instead of before it."""
    return _run(doc, i, 3) and _object_follows(doc, i + 2)


def _adverb_spans(doc: Doc) -> list[tuple[int, int]]:
    words, spans = doc.words, []
    for i, w in enumerate(words):
        if w in _SUBJECTS and _run(doc, i, 3):
            verb, adverb = words[i + 1], words[i + 2]
            if (
                adverb in _FREQ
                and verb not in _NOT_MAIN_VERB
                and doc.word(i + 3) not in _VERB_AFTER
                and not verb.endswith("ly")
                and _opens_clause(doc, i)
            ):
                if adverb in _STRICT_FREQ or _object_follows(doc, i + 2):
                    spans.append((doc.starts[i], doc.ends[i + 2]))
            elif (
                verb in _BEFORE_BE
                and adverb in _BE
                and not (verb == "never" and adverb in ("was", "were"))
                and _run(doc, i, 4)
                and words[i + 3] not in _CLAUSE_BREAK
                and _opens_clause(doc, i)
            ):
                spans.append((doc.starts[i], doc.ends[i + 2]))
        elif w in _LIKE_VERBS and words[i + 1 : i + 3] == ["very", "much"] and _very_much_misplaced(doc, i):
            spans.append((doc.starts[i], doc.ends[i + 3]))
    return spans


def _noun_phrase_follows(doc: Doc, i: int) -> bool:
    """Word i is a determiner starting the direct object, not a time phrase or 'a bit'.

    "I mentioned them the other day" and "describe her a little" are correct English.
    """
    return doc.word(i) in _DETERMINER and doc.word(i + 1) not in _NOT_AN_OBJECT_NOUN


def _object_spans(doc: Doc) -> list[tuple[int, int]]:
    words, spans = doc.words, []
    for i, w in enumerate(words):
        if w in _GIVE_VERBS and _run(doc, i, 4) and words[i + 1] == "to":
            if words[i + 2] in _OBJECT_PRONOUNS and _noun_phrase_follows(doc, i + 3):
                spans.append((doc.starts[i], doc.ends[i + 3]))
        elif w in _TO_VERBS and _run(doc, i, 3) and words[i + 1] in _OBJECT_PRONOUNS:
            after = words[i + 2]
            if _noun_phrase_follows(doc, i + 2) or after in _WH or (after == "that" and w in _THAT_VERBS):
                spans.append((doc.starts[i], doc.ends[i + 2]))
    return spans


def word_order(doc: Doc) -> Finding | None:
    adverbs, objects = _adverb_spans(doc), _object_spans(doc)
    spans = sorted(adverbs + objects)
    if not spans:
        return None
    parts = [
        f"{count_of(len(found), 'time')} {what} (e.g. '{doc.text[slice(*found[0])]}')"
        for found, what in (
            (adverbs, "an adverb such as always/never/very much in the wrong place"),
            (objects, "the person receiving something in the wrong place"),
        )
        if found
    ]
    return Finding(
        pattern_id="grammar.word_order",
        severity="medium",
        frequency=len(spans),
        examples=pick_examples((doc.window(a, b, 1) for a, b in spans), doc.text),
        detail="Word order: " + " and ".join(parts) + ".",
        suggestion=(
            "Put always, never, usually or often before the main verb but after 'be': I always go, "
            "she never eats meat, he is always late. Put 'very much' at the end: I like football very much. "
            "Say 'give him the book' or 'give the book to him', and 'explain the problem to me'."
        ),
        next_step="Say always/never before the verb (I always go) but after 'is' (he is always late).",
        spans=tuple(spans),
    )
