"""What every answerer returns, and what every surface (CLI, UI, API) renders."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Quote(BaseModel):
    text: str
    start: int  # character offsets into the article body
    end: int


class Citation(BaseModel):
    n: int
    article_id: str
    title: str
    source: str
    url: str
    published: str
    quote: str  # the first quoted sentence, verbatim from the article
    quotes: list[Quote] = Field(default_factory=list)  # every sentence quoted from this article

    @classmethod
    def of(cls, n: int, metadata: dict, quote: str = "") -> Citation:
        """Source number n for the article a retrieved chunk (its metadata) belongs to."""
        return cls(
            n=n,
            article_id=metadata["article_id"],
            title=metadata.get("title", ""),
            source=metadata.get("source", ""),
            url=metadata.get("url", ""),
            published=metadata.get("published", ""),
            quote=quote,
        )


class Retrieved(BaseModel):
    article_id: str
    title: str
    url: str
    text: str
    score: float

    @classmethod
    def of(cls, document) -> Retrieved:
        """A retrieved chunk (a LangChain Document from NewsRetriever) as the answer reports it."""
        meta = document.metadata
        return cls(
            article_id=meta["article_id"],
            title=meta.get("title", ""),
            url=meta.get("url", ""),
            text=document.page_content,
            score=round(float(meta.get("score", 0.0)), 4),
        )


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[Retrieved] = Field(default_factory=list)
    searched: str = ""  # what was searched: the question, or a follow-up rewritten to stand alone
    understood: list[str] = Field(default_factory=list)  # outlets, dates and recency read from the question
    backend: str = "extractive"  # which answerer wrote `answer` ("extractive", or the LLM setting)
    dropped: list[str] = Field(default_factory=list)  # LLM sentences removed: their citation did not hold up
    notes: list[str] = Field(default_factory=list)  # what the user should know (e.g. "LLM unreachable: ...")
    needs_clarification: bool = False  # `answer` asks which film, show or person the question means
    short_answer: str = ""  # the name, date or number that `answer` opens with, with its [n] marker ("" if none)

    def public(self) -> dict:
        """The documented `--json` shape."""
        return self.model_dump(
            include={
                "question",
                "answer",
                "abstained",
                "citations",
                "searched",
                "understood",
                "backend",
                "dropped",
                "notes",
                "needs_clarification",
                "short_answer",
            }
        )
