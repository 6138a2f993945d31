"""question (+ as_of) -> retrieval -> answer, as LangChain runnables; every surface calls this."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from langchain_core.runnables import Runnable, RunnableLambda

from .answer import Answer, ExtractiveAnswerer
from .answer.conversation import HistoryError, Turn, clarification, parse_history, standalone
from .answer.llm import Answerer, LLMAnswerer, build_answerer, condense_question
from .redact import redacted_url
from .search.retrieval import NewsRetriever, as_of_filter
from .settings import Settings
from .store.chroma import NewsStore, shown_path
from .store.embedding import LocalEmbeddings
from .store.indexing import IngestSummary, ingest, open_store, refresh_keyword_index
from .store.keyword import KeywordIndex

log = logging.getLogger(__name__)


class QuestionError(ValueError):
    """A question the bot will not run; the message tells the user what to change."""


def check_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("The question is empty: type a question, for example “Who stars in What Comes After Love?”")
    question = " ".join(question.split())
    half = next((char for char in question if "\ud800" <= char <= "\udfff"), None)
    if half:  # JSON's "\ud800" or undecodable bytes on a command line: the tokenizer cannot take them
        raise QuestionError(
            f"The question contains U+{ord(half):04X}, half of a UTF-16 pair, which is not text: send it as UTF-8."
        )
    if len(question) > max_chars:
        raise QuestionError(
            f"The question is {len(question)} characters long; the limit is {max_chars} "
            "(NEWSBOT_MAX_QUESTION_CHARS). Ask something shorter."
        )
    return question


def _finish(answer: Answer, prepared: dict) -> Answer:
    """The answer as the user asked it, with what was searched and understood."""
    return answer.model_copy(
        update={
            "question": prepared["question"],
            "searched": prepared["searched"],
            "understood": list(prepared["intent"].notes),
        }
    )


def build_preparation(retriever: NewsRetriever, condense: Callable[[str, list[Turn]], str] = standalone) -> Runnable:
    """{"question", "as_of"?, "history"?} -> the same plus "searched", "documents" and "intent": the follow-up
    made to stand alone, then retrieval."""

    def rewrite(inputs: dict) -> dict:
        history = inputs.get("history") or []
        searched = condense(inputs["question"], history) if history else inputs["question"]
        return {**inputs, "searched": searched}

    def retrieve(inputs: dict) -> dict:
        documents, intent = retriever.search(inputs["searched"], inputs.get("as_of"))
        return {**inputs, "documents": documents, "intent": intent}

    return RunnableLambda(rewrite, name="condense") | RunnableLambda(retrieve, name="retrieve")


def build_chain(
    retriever: NewsRetriever, answerer: Answerer, condense: Callable[[str, list[Turn]], str] = standalone
) -> Runnable:
    """{"question", "as_of"?, "history"?} -> Answer. The condense and answer steps are what an LLM replaces."""

    def answer(prepared: dict) -> Answer:
        result = answerer(prepared["searched"], prepared["documents"], prepared.get("history"))
        return _finish(result, prepared)

    return build_preparation(retriever, condense) | RunnableLambda(answer, name="answer")


def llm_condenser(chat_model) -> Callable[[str, list[Turn]], str]:
    """The LLM's condense-question rewrite; the rule-based one when the LLM fails or leaves it as it was."""

    def condense(question: str, history: list[Turn]) -> str:
        rewritten = condense_question(chat_model, history, question)
        return rewritten if rewritten != question else standalone(question, history)

    return condense


class NewsBot:
    """One model, one store, one chain: built once per process and shared by every request."""

    def __init__(self, settings: Settings, embeddings: LocalEmbeddings | None = None, store: NewsStore | None = None):
        self.settings = settings
        self.embeddings = embeddings or LocalEmbeddings.from_settings(settings)
        self.store = store or open_store(settings, self.embeddings)
        keyword = refresh_keyword_index(self.store)
        self.retriever = NewsRetriever(
            store=self.store,
            embeddings=self.embeddings,
            keyword=keyword,
            keyword_state=KeywordIndex.saved_state(self.store.index_dir),
            k=settings.top_k,
            mode=settings.retrieval,
            use_metadata=settings.use_metadata,
            candidates=settings.candidates,
            per_article=settings.per_article,
            rrf_k=settings.rrf_k,
            facet_clauses=settings.facet_clauses,
            recency_days=settings.recency_days,
        )
        extractive = ExtractiveAnswerer(self.embeddings, settings.min_relevance, reader=settings.reader)
        self.answerer = build_answerer(settings, self.embeddings, extractive)
        condense = llm_condenser(self.answerer.chat_model) if isinstance(self.answerer, LLMAnswerer) else standalone
        self.preparation = build_preparation(self.retriever, condense)
        self.chain = build_chain(self.retriever, self.answerer, condense)

    def _inputs(self, question: str, as_of: str | None, history: object) -> dict:
        """The request, checked: QuestionError names what is wrong."""
        question = check_question(question, self.settings.max_question_chars)
        try:
            turns = parse_history(history, self.settings.max_history_turns, self.settings.max_history_chars)
        except HistoryError as error:
            raise QuestionError(str(error)) from error
        if as_of:
            try:
                as_of_filter(as_of)
            except ValueError as error:
                raise QuestionError(str(error)) from error
        return {"question": question, "as_of": as_of, "history": turns}

    def _empty_index(self, question: str) -> Answer | None:
        self.retriever.refresh()
        if self.retriever.keyword:
            return None
        return Answer(
            question=question,
            answer=f"The index at {redacted_url(self.settings.chroma_url) or shown_path(self.settings.index)} is empty: "
            "add articles with `newsbot ingest PATH`.",
            abstained=True,
        )

    @staticmethod
    def _unclear(inputs: dict) -> Answer | None:
        """A follow-up ("when does it come out?") asked with no conversation to refer back to: a question back."""
        reply = None if inputs["history"] else clarification(inputs["question"])
        if reply is None:
            return None
        return Answer(question=inputs["question"], answer=reply, abstained=True, needs_clarification=True)

    def ask(self, question: str, as_of: str | None = None, history: object = None) -> Answer:
        """`history`: earlier turns, oldest first, as Turns or {"role", "content"} dicts."""
        inputs = self._inputs(question, as_of, history)
        return self._unclear(inputs) or self._empty_index(inputs["question"]) or self.chain.invoke(inputs)

    def stream(self, question: str, as_of: str | None = None, history: object = None) -> Iterator[str | Answer]:
        """Text as it is written (provisional), then the final Answer, which replaces it."""
        inputs = self._inputs(question, as_of, history)
        early = self._unclear(inputs) or self._empty_index(inputs["question"])
        if early:
            yield early
            return
        prepared = self.preparation.invoke(inputs)
        if isinstance(self.answerer, LLMAnswerer):
            for item in self.answerer.stream(prepared["searched"], prepared["documents"], prepared["history"]):
                yield _finish(item, prepared) if isinstance(item, Answer) else item
            return
        answer = _finish(self.answerer(prepared["searched"], prepared["documents"]), prepared)
        yield answer.answer
        yield answer

    def ensure_index(self) -> IngestSummary | None:
        """Build the index from the shipped corpus when it is empty (first start on a new machine)."""
        if self.store.count() > 0:
            return None
        where = redacted_url(self.settings.chroma_url) or shown_path(self.settings.index)
        log.warning("The index at %s is empty: indexing %s ...", where, shown_path(self.settings.corpus))
        summary = ingest([self.settings.corpus], self.settings, self.embeddings, store=self.store)
        self.retriever.keyword = refresh_keyword_index(self.store)
        log.warning("%s", summary)
        return summary
