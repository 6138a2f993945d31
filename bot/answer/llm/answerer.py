"""The LLM answerer: streams the model's prose, then replaces it with the checked answer; the extractive answerer
answers instead when the backend fails or nothing survives the check. Also the LLM's rewriting of follow-ups."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, SystemMessage

from ...store.embedding import LocalEmbeddings
from ..types import Answer
from .backends import failure_note, make_chat_model, redact_url
from .citations import THINK_BLOCK, as_retrieved, check_support, compose
from .prompt import (
    CONDENSE_PROMPT,
    MARKER,
    MAX_HISTORY_TURNS,
    NOT_FOUND,
    History,
    build_messages,
    history_turns,
    source_text,
)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ...settings import Settings

log = logging.getLogger(__name__)
Answerer = Callable[[str, list[Document]], Answer]


def _text(chunk: Any) -> str:
    text = getattr(chunk, "text", "")
    return str(text() if callable(text) and not isinstance(text, str) else text)


class LLMAnswerer:
    """An answerer with the extractive one's signature (plus history) whose prose comes from a chat model and whose
    citations are checked before anyone sees them."""

    def __init__(
        self,
        chat_model: BaseChatModel,
        embeddings: LocalEmbeddings,
        fallback: Answerer,
        support_threshold: float,
        name: str,
        *,
        secrets: Sequence[str] = (),
    ):
        self.chat_model = chat_model
        self.embeddings = embeddings
        self.fallback = fallback
        self.support_threshold = support_threshold
        self.name = redact_url(name)  # Answer.backend: the NEWSBOT_LLM setting
        self._secrets = tuple(secrets)

    def __call__(self, question: str, documents: list[Document], history: History | None = None) -> Answer:
        answer = None
        for item in self.stream(question, documents, history):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None  # stream always ends with the Answer
        return answer

    def stream(
        self, question: str, documents: list[Document], history: History | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas as the model writes them (unchecked: show them as provisional), then the checked Answer,
        which replaces them."""
        extractive = self.fallback(question, documents)
        if extractive.abstained or not documents:
            yield extractive  # nothing relevant was retrieved: the same refusal whatever the backend
            return
        messages = build_messages(question, documents, history)
        pieces: list[str] = []
        try:
            for chunk in self.chat_model.stream(messages):
                delta = _text(chunk)
                if delta:
                    pieces.append(delta)
                    yield delta
        except Exception as error:  # any backend failure: the user still gets an answer
            note = failure_note(self.name, error, self._secrets)
            log.warning("%s", note)
            yield extractive.model_copy(update={"notes": [*extractive.notes, note]})
            return
        yield self.check("".join(pieces), question, documents, extractive)

    def check(self, text: str, question: str, documents: list[Document], extractive: Answer | None = None) -> Answer:
        """The model's text -> the Answer the user sees (see the module docstring)."""
        check, evidence = check_support(text, documents, self.embeddings, self.support_threshold)
        notes = []
        withheld = dict.fromkeys(
            d.metadata.get("title") or d.metadata["article_id"] for d in documents if source_text(d)[2]
        )
        for title in withheld:
            notes.append(
                f"The article “{title}” contains text addressed to an AI system; it was withheld from the LLM."
            )
        if check.invalid_numbers:
            listed = ", ".join(f"[{n}]" for n in check.invalid_numbers)
            notes.append(
                f"The LLM cited {listed}, which is not one of the {len(documents)} sources it was given; "
                "that citation was removed."
            )
        claims = [k for k in check.kept if k.kind == "claim"]
        if not claims and any(k.kind == "not_found" for k in check.kept):
            return Answer(
                question=question,
                answer=NOT_FOUND,
                abstained=True,
                retrieved=as_retrieved(documents),
                backend=self.name,
                dropped=check.dropped,
                notes=notes,
            )
        if not claims:
            extractive = extractive or self.fallback(question, documents)
            why = (
                "The LLM's answer was empty"
                if not check.dropped
                else "No sentence of the LLM's answer was supported by a source it cited"
            )
            notes.append(f"{why}; this answer comes from the built-in extractive answerer.")
            return extractive.model_copy(
                update={"dropped": [*extractive.dropped, *check.dropped], "notes": [*extractive.notes, *notes]}
            )
        answer, citations = compose(check, documents, evidence)
        return Answer(
            question=question,
            answer=answer,
            abstained=False,
            citations=citations,
            retrieved=as_retrieved(documents),
            backend=self.name,
            dropped=check.dropped,
            notes=notes,
        )


def condense_question(chat_model: BaseChatModel, history: History | None, question: str) -> str:
    """A follow-up ('who directs it?') rewritten to stand alone, so that retrieval searches for the right thing;
    the question unchanged when there is no history or anything goes wrong."""
    turns = history_turns(history)
    if not turns:
        return question
    transcript = "\n".join(
        f"{'User' if role == 'user' else 'Assistant'}: {' '.join(MARKER.sub('', content).split())}"
        for role, content in turns[-MAX_HISTORY_TURNS:]
    )
    messages = [
        SystemMessage(content=CONDENSE_PROMPT),
        HumanMessage(content=f"Conversation:\n{transcript}\n\nLast message: {question}\n\nStandalone question:"),
    ]
    try:
        reply = THINK_BLOCK.sub("", _text(chat_model.invoke(messages))).strip()
    except Exception as error:
        log.warning("Could not rewrite the follow-up question (%s); searching for it as asked.", type(error).__name__)
        return question
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    rewritten = (
        re.sub(r"(?i)^(?:standalone question|question)\s*:\s*", "", lines[0]).strip().strip("\"'“”") if lines else ""
    )
    if not rewritten or len(rewritten) > max(300, 3 * len(question)):
        return question
    return rewritten


def build_answerer(settings: Settings, embeddings: LocalEmbeddings, fallback: Answerer) -> Answerer:
    """The answerer NEWSBOT_LLM asks for: the extractive `fallback` itself when it is empty."""
    if not settings.llm.strip():
        return fallback
    secrets = (settings.llm_api_key.get_secret_value(),) if settings.llm_api_key else ()
    return LLMAnswerer(
        make_chat_model(settings),
        embeddings,
        fallback,
        support_threshold=settings.llm_support,
        name=settings.llm.strip(),
        secrets=secrets,
    )
