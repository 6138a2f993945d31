"""Optional LLM answerers behind LangChain's chat-model interface (Ollama, any OpenAI-compatible server, llama.cpp).

The model writes the prose; this package decides what of it the user sees. Every sentence must cite a source that
was given, and be close in meaning (MiniLM embeddings) to a sentence of a source it cites; the rest is dropped and
listed. When nothing survives, or the backend fails, the extractive answerer answers instead and a note says why.
Article text is data: it is fenced in a delimited block that it cannot close, sentences that address an AI system
are withheld, and the citation check catches what an injected instruction would make the model say anyway.

backends.py (NEWSBOT_LLM -> a chat model) -> prompt.py (what it reads) -> citations.py (what of its prose survives)
-> answerer.py (streams it, checks it, falls back).
"""

from .answerer import Answerer, LLMAnswerer, build_answerer, condense_question
from .backends import LLMConfigError, describe_backend, failure_note, make_chat_model, parse_llm_spec
from .citations import check_support, claim_text, evidence_sentences, split_answer
from .prompt import NOT_FOUND, SYSTEM_PROMPT, History, build_messages

__all__ = [
    "NOT_FOUND",
    "SYSTEM_PROMPT",
    "Answerer",
    "History",
    "LLMAnswerer",
    "LLMConfigError",
    "build_answerer",
    "build_messages",
    "check_support",
    "claim_text",
    "condense_question",
    "describe_backend",
    "evidence_sentences",
    "failure_note",
    "make_chat_model",
    "parse_llm_spec",
    "split_answer",
]
