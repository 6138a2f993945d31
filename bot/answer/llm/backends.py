"""Which chat model NEWSBOT_LLM names, built through LangChain, and what to tell the user when it fails."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ...settings import Settings


VALID_FORMS = (
    "ollama:MODEL (e.g. ollama:llama3.1:8b, or ollama:MODEL@http://host:11434), "
    "openai:MODEL (e.g. openai:gpt-4o-mini), "
    "openai:MODEL@http://host:port/v1 (any OpenAI-compatible server: vLLM, llama.cpp server, LM Studio, ...), "
    "llamacpp:/path/to/model.gguf"
)

_EXTRAS = {"ollama": "ollama", "openai": "openai", "llamacpp": "llamacpp"}
_UNREACHABLE = ("connect", "connection", "unreachable", "refused", "resolve", "dns", "network")


class LLMConfigError(ValueError):
    """NEWSBOT_LLM cannot be used as written (bad form, missing package, missing model file or key)."""


@dataclass(frozen=True)
class BackendSpec:
    provider: str  # ollama | openai | llamacpp
    model: str  # model name, or the .gguf path for llamacpp
    base_url: str | None = None


def parse_llm_spec(spec: str) -> BackendSpec:
    """`provider:model[@url]` -> its parts; a malformed value raises with the valid forms."""
    text = spec.strip()
    match = re.fullmatch(r"(?P<provider>[A-Za-z.]+):(?P<rest>.+)", text)
    provider = match.group("provider").lower() if match else ""
    if not match or provider not in _EXTRAS:
        raise LLMConfigError(f"NEWSBOT_LLM={redact_url(text)!r} is not a valid LLM setting. Valid forms: {VALID_FORMS}")
    rest = match.group("rest").strip()
    if provider == "llamacpp":
        return BackendSpec(provider, rest)
    parts = re.fullmatch(r"(?P<model>[^@\s]+)(?:@(?P<url>https?://\S+))?", rest)
    if not parts:
        raise LLMConfigError(
            f"NEWSBOT_LLM={redact_url(text)!r}: a model name without spaces is needed, optionally followed by "
            f"@http(s)://host:port/... Valid forms: {VALID_FORMS}"
        )
    return BackendSpec(provider, parts.group("model"), parts.group("url"))


def redact_url(text: str) -> str:
    """user:password@ in a URL never reaches a log, a note or an answer."""
    return re.sub(r"(https?://)[^/@\s]+@", r"\1***@", text)


def describe_backend(spec: str) -> str:
    """The setting as people read it: 'openai:gpt-4o-mini at http://127.0.0.1:9/v1'."""
    try:
        parsed = parse_llm_spec(spec)
    except LLMConfigError:
        return redact_url(spec)
    name = f"{parsed.provider}:{parsed.model}"
    return redact_url(f"{name} at {parsed.base_url}" if parsed.base_url else name)


def _require(module: str, package: str, provider: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise LLMConfigError(
            f"NEWSBOT_LLM={provider}:... needs the {package} package, which is not installed: "
            f"pip install -e '.[{_EXTRAS[provider]}]'"
        )


def make_chat_model(settings: Settings, *, max_retries: int = 1) -> BaseChatModel:
    """The chat model NEWSBOT_LLM names, built here so that one setting switches backends; errors say what to do."""
    spec = parse_llm_spec(settings.llm)
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    timeout = settings.llm_timeout
    if spec.provider == "ollama":
        _require("langchain_ollama", "langchain-ollama", "ollama")
        from langchain_ollama import ChatOllama

        client: dict[str, Any] = {"timeout": timeout}
        if key:  # an Ollama behind an authenticating proxy
            client["headers"] = {"Authorization": f"Bearer {key}"}
        return ChatOllama(model=spec.model, base_url=spec.base_url, temperature=0, client_kwargs=client)
    if spec.provider == "openai":
        _require("langchain_openai", "langchain-openai", "openai")
        from langchain_openai import ChatOpenAI

        if key is None and spec.base_url:
            key = "not-needed"  # local OpenAI-compatible servers accept any key; the client insists on one
        try:
            return ChatOpenAI(
                model=spec.model, base_url=spec.base_url, api_key=key, timeout=timeout, max_retries=max_retries
            )
        except Exception as error:  # the openai client refuses to start without a key
            raise LLMConfigError(
                f"NEWSBOT_LLM={describe_backend(settings.llm)!r} could not be set up ({type(error).__name__}): set "
                "NEWSBOT_LLM_API_KEY (or OPENAI_API_KEY), or give a local server's URL: openai:MODEL@http://host:port/v1"
            ) from None
    _require("langchain_community", "langchain-community", "llamacpp")
    _require("llama_cpp", "llama-cpp-python", "llamacpp")
    path = Path(spec.model).expanduser()
    if not path.is_file():
        raise LLMConfigError(f"NEWSBOT_LLM=llamacpp:{spec.model}: no model file there (a .gguf file is needed)")
    from langchain_community.chat_models import ChatLlamaCpp

    return ChatLlamaCpp(model_path=str(path), n_ctx=4096, max_tokens=512, temperature=0, verbose=False)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def failure_note(backend: str, error: BaseException, secrets: Sequence[str] = ()) -> str:
    """One line for the user: what failed and that the extractive answerer answered. Never a key."""
    chain = _chain(error)
    library = [e for e in chain if type(e).__module__ != "builtins"]
    name = type((library or chain)[-1]).__name__
    names = " ".join(type(e).__name__.lower() for e in chain)
    tail = "; this answer comes from the built-in extractive answerer."
    where = f"The LLM backend ({describe_backend(backend)})"
    if "timeout" in names or any(isinstance(e, TimeoutError) for e in chain):
        return f"{where} did not answer in time ({name}){tail}"
    if any(isinstance(e, ConnectionError) for e in chain) or any(word in names for word in _UNREACHABLE):
        return f"{where} could not be reached ({name}){tail}"
    message = " ".join(str(error).split())[:200]
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    message = re.sub(r"\b(sk|key|token)-[A-Za-z0-9_\-]{6,}", r"\1-***", message)
    return f"{where} failed ({type(error).__name__}{': ' + message if message else ''}){tail}"
