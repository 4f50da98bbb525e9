"""The labelled set for ``bench.rules_eval``: learner sentences with one planted error each, and correct ones.

Written for issue 10 before the article and word-order rules were tuned on it, and kept apart from
the unit tests' sentences. Some planted errors are deliberately outside what the rules look for
(a noun after "me", a fronted "always", a noun subject), so recall is not flattered.
"""

from __future__ import annotations

ARTICLE_ERRORS = (
    "Yesterday I went to market with my sister.",
    "She bought car last month.",
    "He is teacher at my school.",
    "We had a picnic in park near the river.",
    "My brother wants to find job in London.",
    "I have problem with my phone.",
    "There is bank next to my house.",
    "I waited for bus for twenty minutes.",
    "My sister is doctor.",
    "We stayed in hotel by the sea.",
    "He works as engineer in a big company.",
    "I met him at station.",
    "Can you lend me umbrella?",
    "She lives in small village in the mountains.",
    "It was good idea to leave early.",
    "I bought new phone yesterday.",
    "My father is very good cook.",
    "We visited museum in the afternoon.",
    "I need ticket for the concert.",
    "He drives old car.",
    "They live in apartment on the fifth floor.",
    "I want to buy dog.",
    "Our teacher gave us exam on Monday.",
    "She works in office downtown.",
    "We saw accident on the way home.",
    "Is there pharmacy near here?",
    "I left my keys in taxi.",
    "We ate at restaurant near the beach.",
    "My cousin has cat and two dogs.",
    "I am student at the university.",
)

WORD_ORDER_ERRORS = (
    "I go always to the gym after work.",
    "She eats never meat.",
    "I like very much football.",
    "He always is late for class.",
    "Can you explain me the problem?",
    "I gave to him the book yesterday.",
    "We play often tennis at weekends.",
    "They watch sometimes films in English.",
    "My mother cooks always dinner for us.",
    "I love very much my family.",
    "She usually is tired in the evening.",
    "He described me the house in detail.",
    "Please send to me the photos.",
    "I drink usually coffee in the morning.",
    "They never are at home on Sundays.",
    "She suggested me a good restaurant.",
    "I enjoyed very much the concert.",
    "He said me that he was tired.",
    "I can speak very well English.",
    "Always I go to school by bus.",
    "I read often books before bed.",
    "They explained us what to do.",
    "I forget always my keys.",
)

CORRECT = (
    "I like music and we like football.",
    "She drinks a lot of water and gives good advice.",
    "I need some information about the homework.",
    "The news was good.",
    "I went home after work and went to bed early.",
    "We go to school by bus, but on Fridays we go on foot.",
    "At night I read at home.",
    "He arrived just in time for breakfast.",
    "I always go to the gym on Mondays.",
    "She is always late.",
    "Give him the book, or give the book to him.",
    "He gave her the keys and she drove the car.",
    "Explain the problem to me, please.",
    "They described the house to us.",
    "I like it very much.",
    "She never eats meat.",
    "We are never late.",
    "My friend Anna lives in London and works at Google.",
    "I love cooking and swimming.",
    "He became a doctor in 2010.",
    "We bought two cars and a new house.",
    "My sister is a teacher and my brother is an engineer.",
    "I usually have breakfast at seven.",
    "It happens sometimes when I am tired.",
    "I think sometimes it is better to wait.",
    "What I eat never changes.",
    "He was manager of the team for ten years.",
    "As a student, I worked in a shop.",
    "I want to park the car near the station.",
    "We decided to book a table at a restaurant.",
    "I watch TV in the evening and listen to music.",
    "He is in hospital, so I visited him.",
    "They go to church on Sundays.",
    "She studies at university in Madrid.",
    "We travelled by car and by train.",
    "I can't find my phone.",
    "I had lunch with friends.",
    "It takes time to learn a language.",
    "She has always wanted a dog.",
    "I introduced her to my parents.",
    "How would you describe him in three words?",
    "He said that he was tired.",
    "Could you explain how it works?",
    "Thank you very much for your help.",
    "I never was very good at maths.",
    "Nobody knows where she usually is on Mondays.",
    "We left an open window and the lost key on the table.",
    "I pay for my own car insurance.",
)

#: A B2-C1 paragraph with "like" as a verb, set phrases and uncountable nouns: no article or
#: word-order flag is the right answer for every line of it.
FLUENT = (
    "I like music a lot, and my flatmates like football, so our evenings at home are rarely quiet. "
    "Most days I go to work by bus and get home at around seven; on Fridays I walk, because I need the "
    "exercise and some fresh air. My manager always gives useful advice, although the information she "
    "sends us is sometimes out of date. Last year I studied French at university in the evenings, which "
    "meant doing homework on the train. I usually read the news over breakfast, and I never check email "
    "in bed. My sister is a nurse and works at night, so we rarely have time for dinner together, but when "
    "we do, she tells me everything about her patients."
)
