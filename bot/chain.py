"""question (+ as_of) -> retrieval -> answer, as LangChain runnables; every surface calls this."""

from __future__ import annotations

import logging
from collections.abc import Callable

from langchain_core.runnables import Runnable, RunnableLambda

from .answer import Answer, ExtractiveAnswerer
from .embedding import LocalEmbeddings
from .indexing import IngestSummary, ingest, open_store, refresh_keyword_index
from .retrieval import NewsRetriever, as_of_filter
from .settings import Settings
from .store import NewsStore

log = logging.getLogger(__name__)


class QuestionError(ValueError):
    """A question the bot will not run; the message tells the user what to change."""


def check_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("The question is empty: type a question, for example “Who stars in What Comes After Love?”")
    question = " ".join(question.split())
    if len(question) > max_chars:
        raise QuestionError(
            f"The question is {len(question)} characters long; the limit is {max_chars} "
            "(NEWSBOT_MAX_QUESTION_CHARS). Ask something shorter."
        )
    return question


def build_chain(retriever: NewsRetriever, answerer: Callable[[str, list], Answer]) -> Runnable:
    """{"question", "as_of"?} -> Answer. The answerer step is what an LLM backend replaces."""

    def retrieve(inputs: dict) -> dict:
        documents, intent = retriever.search(inputs["question"], inputs.get("as_of"))
        return {**inputs, "documents": documents, "intent": intent}

    def answer(inputs: dict) -> Answer:
        return answerer(inputs["question"], inputs["documents"])

    return RunnableLambda(retrieve, name="retrieve") | RunnableLambda(answer, name="answer")


class NewsBot:
    """One model, one store, one chain: built once per process and shared by every request."""

    def __init__(self, settings: Settings, embeddings: LocalEmbeddings | None = None, store: NewsStore | None = None):
        self.settings = settings
        self.embeddings = embeddings or LocalEmbeddings(settings.embedding_model, settings.embed_batch_size)
        self.store = store or open_store(settings, self.embeddings)
        self.retriever = NewsRetriever(
            store=self.store,
            embeddings=self.embeddings,
            keyword=refresh_keyword_index(self.store),
            k=settings.top_k,
            mode=settings.retrieval,
            use_metadata=settings.use_metadata,
            candidates=settings.candidates,
            per_article=settings.per_article,
            rrf_k=settings.rrf_k,
            recency_days=settings.recency_days,
        )
        self.answerer = ExtractiveAnswerer(self.embeddings, settings.min_relevance)
        self.chain = build_chain(self.retriever, self.answerer)

    def ask(self, question: str, as_of: str | None = None) -> Answer:
        question = check_question(question, self.settings.max_question_chars)
        if as_of:
            try:
                as_of_filter(as_of)
            except ValueError as error:
                raise QuestionError(str(error)) from error
        if self.store.count() == 0:
            return Answer(
                question=question,
                answer=f"The index at {self.settings.index} is empty: add articles with `newsbot ingest PATH`.",
                abstained=True,
            )
        return self.chain.invoke({"question": question, "as_of": as_of})

    def ensure_index(self) -> IngestSummary | None:
        """Build the index from the shipped corpus when it is empty (first start on a new machine)."""
        if self.store.count() > 0:
            return None
        log.warning("The index at %s is empty: indexing %s ...", self.settings.index, self.settings.corpus)
        summary = ingest([self.settings.corpus], self.settings, self.embeddings, store=self.store)
        self.retriever.keyword = refresh_keyword_index(self.store)
        log.warning("%s", summary)
        return summary
