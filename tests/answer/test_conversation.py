"""Follow-up questions: made to stand alone before retrieval, visible to the user, limited and validated."""

import json

import pytest

from bot.answer.conversation import HistoryError, Turn, clarification, parse_history, salient, standalone
from bot.chain import QuestionError
from bot.cli import main
from tests.conftest import SEED_2024

FIRST = "Who stars in What Comes After Love?"
HISTORY = [
    Turn("user", FIRST),
    Turn("assistant", "Lee Se-young and Sakaguchi Kentaro [1]. Lee Se-young and Sakaguchi Kentaro star in it [1]"),
]


@pytest.mark.parametrize(
    ("follow_up", "searched"),
    [
        ("When does it come out?", "When does What Comes After Love come out?"),
        ("Who else is in it?", "Who else is in What Comes After Love?"),
        ("Who directed that one?", "Who directed What Comes After Love?"),
        ("What is its release date?", "What is What Comes After Love’s release date?"),
        ("Who wrote the novel it is based on?", "Who wrote the novel What Comes After Love is based on?"),
        ("How old is she?", "How old is Lee Se-young?"),
        ("Any news on the release date?", "Any news on the release date? (What Comes After Love)"),
        # a question with its own subject is left alone
        ("Who stars in Romantic Anonymous?", "Who stars in Romantic Anonymous?"),
    ],
)
def test_follow_ups_carry_the_title_or_name_of_the_earlier_turns(follow_up, searched):
    assert standalone(follow_up, HISTORY) == searched


def test_without_history_nothing_is_rewritten():
    assert standalone("When does it come out?", []) == "When does it come out?"


def test_the_topic_survives_a_follow_up_of_a_follow_up():
    history = [*HISTORY, Turn("user", "When does it come out?"), Turn("assistant", "Sept. 27 [1].")]
    assert standalone("Where was it filmed?", history) == "Where was What Comes After Love filmed?"


def test_salient_keeps_titles_that_start_with_a_question_word_mid_sentence():
    assert salient(FIRST) == ["What Comes After Love"]
    assert salient('Did the Polygon article mention "Eras Tour"?') == ["Eras Tour", "Polygon"]


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("hello", "history must be a list of"),
        ([{"role": "system", "content": "x"}], 'history[0].role must be "user" or "assistant", got \'system\''),
        ([{"role": "user"}], "history[0].content must be text"),
        ([{"role": "user", "content": "x" * 9000}], "history[0].content is 9000 characters long; the limit is 8000"),
        ([{"role": "user", "content": "x"}] * 21, "history has 21 turns; the limit is 20"),
    ],
)
def test_bad_history_is_named(history, message):
    with pytest.raises(HistoryError) as error:
        parse_history(history, max_turns=20, max_chars=8000)
    assert message in str(error.value)


def test_a_follow_up_is_answered_from_the_right_article(corpus_bot):
    first = corpus_bot.ask(FIRST)
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first.answer}]
    answer = corpus_bot.ask("When does it come out?", history=history)
    assert answer.question == "When does it come out?"
    assert answer.searched == "When does What Comes After Love come out?"
    assert answer.citations[0].article_id == SEED_2024
    assert answer.answer.startswith("Sept. 27 [1].")


def test_the_same_follow_up_without_its_history_finds_something_else(corpus_bot):
    history = [{"role": "user", "content": "Who is directing Romantic Anonymous?"}]
    answer = corpus_bot.ask("Who stars in it?", history=history)
    assert answer.searched == "Who stars in Romantic Anonymous?"
    assert answer.answer.startswith("Han Hyo-joo [1].") and answer.citations[0].article_id == SEED_2024
    alone = corpus_bot.ask("Who stars in it?")
    assert alone.needs_clarification and alone.abstained and not alone.citations
    assert alone.answer.startswith("Which film or show do you mean?")


def test_history_errors_reach_the_caller(corpus_bot):
    with pytest.raises(QuestionError, match=r"history\[1\].role must be"):
        corpus_bot.ask("When?", history=[{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}])


def test_stream_ends_with_the_same_answer_as_ask(corpus_bot):
    items = list(corpus_bot.stream("Who is directing Romantic Anonymous?"))
    final = items[-1]
    assert "".join(item for item in items[:-1]) == final.answer
    assert final.model_dump() == corpus_bot.ask("Who is directing Romantic Anonymous?").model_dump()


def test_batch_lines_carry_history_and_explain_shows_the_search(corpus_bot, corpus_settings, tmp_path, capsys):
    batch = tmp_path / "batch.jsonl"
    line = {"id": "f1", "question": "When does it come out?", "history": [{"role": "user", "content": FIRST}]}
    batch.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert main(["ask", "--batch", str(batch), "--index", str(corpus_settings.index)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["searched"] == "When does What Comes After Love come out?"

    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": FIRST}]), encoding="utf-8")
    args = ["ask", "When does it come out?", "--history", str(history), "--explain"]
    assert main([*args, "--index", str(corpus_settings.index)]) == 0
    assert "Searched for: When does What Comes After Love come out?" in capsys.readouterr().out


THING = "Which film or show do you mean? Ask again with its title"
PERSON = "Who do you mean? Ask again with their name"


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("When does it come out?", THING),
        ("when is its release date", THING),
        ("Who's in it?", THING),
        ("Who’s the director of it?", THING),
        ("Who stars in that show?", THING),
        ("What is this drama about?", THING),
        ("Why did they cancel the tour?", THING),
        ("What did he say?", PERSON),
        ("How old is she?", PERSON),
        # They stand on their own: a name, or a noun of their own that the pronoun refers to
        ("When does What Comes After Love come out?", None),
        ("Did Taylor Swift say she would tour?", None),
        ("Which company said it would lay off workers?", None),
        ("Who said he would resign?", None),
        ("What country elected its first woman president this week?", None),
        ("Which of these bands announced they were reuniting?", None),
        ("Is it true that the festival was cancelled?", None),
        ("Which country won the song contest?", None),
    ],
)
def test_a_question_that_needs_an_earlier_one_is_recognised(question, reply):
    found = clarification(question)
    assert found is None if reply is None else found.startswith(reply), found


def test_a_follow_up_without_its_conversation_gets_a_question_back(corpus_bot, corpus_settings, capsys):
    answer = corpus_bot.ask("When does it come out?")
    assert answer.needs_clarification and answer.abstained and not answer.citations and not answer.searched
    assert answer.answer == (
        "Which film or show do you mean? Ask again with its title, for example: “When does What Comes After "
        "Love come out?”"
    )
    assert list(corpus_bot.stream("When does it come out?"))[-1] == answer
    history = [{"role": "user", "content": FIRST}]
    assert not corpus_bot.ask("When does it come out?", history=history).needs_clarification
    assert main(["ask", "When does it come out?", "--json", "--index", str(corpus_settings.index)]) == 0
    assert json.loads(capsys.readouterr().out)["needs_clarification"] is True
