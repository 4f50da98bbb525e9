"""The rules-v5 grammar signals: noun number asked by the words around a bare noun, tense against its time frame,
prepositions in set phrases and after verbs of stopping, word order in embedded questions and before modals.

Each rule finds the slip in learner sentences (the kind NUCLE and FCE essays hold) and quotes it;
correct English with the same surface (the traps) stays silent.
"""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.agreement import agreement_errors
from pipeline.providers.analysis.rules.article_use import such_without_a
from pipeline.providers.analysis.rules.clause_order import adverb_before_modal, embedded_questions
from pipeline.providers.analysis.rules.collocations import change_of, phrase_errors, stopping_infinitive
from pipeline.providers.analysis.rules.nouns import number_errors
from pipeline.providers.analysis.rules.parse import parse
from pipeline.providers.analysis.rules.prepositions import preposition_errors
from pipeline.providers.analysis.rules.syntax import parsed_articles, parsed_plurals, parsed_tense
from pipeline.providers.analysis.rules.text import Doc
from pipeline.providers.analysis.rules.time_frame import frame_errors, mixed_tense
from tests.support.parsed_rules import quoted as quotes

FOUND = [
    (number_errors, "Criminals can now use other device to follow us.", "other device"),
    (number_errors, "The police have more advanced method to catch them.", "more advanced method"),
    (number_errors, "All student must wear a uniform.", "All student"),
    (such_without_a, "I think such powerful device should be banned.", "such powerful device"),
    (number_errors, "Sometimes machine are more reliable than people.", "machine are"),
    (number_errors, "Medicine helps human to live longer.", "human"),
    (number_errors, "Nowadays, human lived longer than before.", "human"),
    (number_errors, "We must stop causing harms to the environment.", "harms"),
    (frame_errors, "Nowadays, people used their phones everywhere.", "Nowadays, people used"),
    (frame_errors, "Since 2005 the government builds three bridges.", "Since 2005 the government builds"),
    (frame_errors, "So far the plan achieved little.", "So far the plan achieved"),
    (frame_errors, "For the past ten years I live in Paris.", "For the past ten years I live"),
    (frame_errors, "In recent years, the population grows quickly.", "In recent years, the population grows"),
    (
        mixed_tense,
        "Parents wait at the gate but did not pay attention to the child.",
        "wait at the gate but did",
    ),
    (phrase_errors, "In the other hand, the tags are cheap.", "In the other hand"),
    (phrase_errors, "In the same time, the police can find criminals.", "In the same time"),
    (phrase_errors, "I read this news on the newspaper last week.", "on the newspaper"),
    (phrase_errors, "In my point of view, privacy matters more.", "In my point of view"),
    (phrase_errors, "After school I went to home with my sister.", "went to home"),
    (stopping_infinitive, "It helps to prevent the family to lose their members.", "prevent the family to"),
    (stopping_infinitive, "The law prohibits people to smoke in bars.", "prohibits people to"),
    (change_of, "The increase of life expectancy strains the budget.", "increase of"),
    (change_of, "A rise of prices hurts the poor.", "rise of"),
    (number_errors, "Every students has a locker.", "Every students"),
    (number_errors, "We need more doctor in the villages.", "more doctor"),
    (preposition_errors, "Hackers are invading into our computers.", "invading into"),
    (preposition_errors, "The police should seriously consider about it.", "consider about"),
    (embedded_questions, "With it, parents can find out where are their kids now.", "where are their kids"),
    (embedded_questions, "I will tell you how was my holiday in Spain.", "how was my holiday"),
    (adverb_before_modal, "This chip also can be used as a tracking device.", "also can be"),
    (adverb_before_modal, "Poor families only can hope for help.", "only can hope"),
    (mixed_tense, "Then he opens the door and walked into the room.", "opens the door and walked"),
]

SILENT = [
    (number_errors, "The other day I met him. We love each other. One more time, please."),
    (number_errors, "Other people agree, and more information is needed. Most water is clean."),
    (number_errors, "The machine is broken, and the person who fixes machines is away."),
    (number_errors, "He made a living as a farmer. Such a situation is rare."),
    (number_errors, "Human rights matter, and a human being is a human."),
    (frame_errors, "Nowadays people use their phones everywhere. So far the plan has worked."),
    (frame_errors, "Since 2005 the government has built three bridges. In recent years it has grown."),
    (frame_errors, "For the past ten years I have been living in Paris. So far, so good."),
    (phrase_errors, "On the other hand, at the same time, in my opinion, it is on the internet."),
    (phrase_errors, "I read it in the newspaper, went home and took the car to Home Depot's store."),
    (stopping_infinitive, "He stopped the car to look. We prevent it from happening and want them to stay."),
    (stopping_infinitive, "They try to prevent the abuse and how to report it."),
    (change_of, "An increase of 5 % in prices, a drop of water and the rise of Rome."),
    (preposition_errors, "The team is comprised of ten people. I was opposed to it. We discussed it."),
    (embedded_questions, "Where are their kids? I know where their kids are. What is it."),
    (embedded_questions, "No matter how important it is, we wonder what the reason was."),
    (adverb_before_modal, "It can also be used. I just can't go. Also, can we stay? She really can sing."),
    (agreement_errors, "Tracking people is dangerous. Reading books is fun. People are kind."),
    (mixed_tense, "I went to the market and bought some apples. She works and studies."),
    (mixed_tense, "When I was young, I played football. I have been there and noticed the change."),
    (mixed_tense, "He said that he likes it. It is the day when I met her."),
]


@pytest.mark.parametrize(("rule", "text", "quoted"), FOUND, ids=lambda x: getattr(x, "__name__", None))
def test_each_rule_finds_its_slip(nlp, rule, text: str, quoted: str) -> None:  # noqa: ANN001
    found = quotes(nlp, rule, text)
    assert len(found) == 1, (text, found)
    assert quoted in found[0] or found[0] in quoted, (text, found)


@pytest.mark.parametrize(("rule", "text"), SILENT, ids=lambda x: getattr(x, "__name__", None))
def test_each_rule_stays_silent_on_correct_traps(nlp, rule, text: str) -> None:  # noqa: ANN001
    assert quotes(nlp, rule, text) == [], text


def test_clause_pairs_are_not_judged_without_punctuation(nlp) -> None:  # noqa: ANN001
    """Raw ASR has no clause ends: 'they are done properly when I was a child' may be two sentences."""
    text = "and they are done properly when i was a child i played outside and now i work in an office"
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    assert parsed_tense(doc) is None


def test_the_finding_quotes_its_surest_rule_first(nlp) -> None:  # noqa: ANN001
    """A time word ('yesterday') is surer evidence than a change of tense, so its quote comes first."""
    text = "Parents wait at the gate but did not see him. Yesterday I go to the cinema with my friends."
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    finding = parsed_tense(doc)
    assert finding is not None and finding.frequency == 2
    assert finding.examples[0].startswith("Yesterday I go")
    assert parsed_plurals(doc) is None


def test_a_bare_noun_the_number_rule_explains_is_not_also_an_article_slip(nlp) -> None:  # noqa: ANN001
    """'other device' wants 'devices', not 'an other device': one slip, reported once, as number."""
    text = "Criminals can now use other device to follow us. He is very good teacher."
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    articles, plurals = parsed_articles(doc), parsed_plurals(doc)
    assert plurals is not None and plurals.examples[0].startswith("use other device")
    assert articles is not None and articles.frequency == 1 and "good teacher" in articles.quoted()[0]


def test_a_noun_used_with_a_elsewhere_but_mostly_uncounted_is_no_article_slip(nlp) -> None:  # noqa: ANN001
    """'a long age' elsewhere is no evidence that 'people live to age' misses an article."""
    text = "It was a golden age. Today more people live to old age and success comes late."
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    assert parsed_articles(doc) is None
