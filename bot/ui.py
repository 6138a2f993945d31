"""The Gradio chat app: a thin face on the same chain the CLI uses."""

from __future__ import annotations

import html
import logging
import re

import gradio as gr

from .answer import Answer
from .chain import NewsBot, QuestionError
from .settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = [
    "Who stars in What Comes After Love?",
    "Who is directing Romantic Anonymous?",
    "What did Taylor Swift say about Travis Kelce?",
]
_THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"])  # no web fonts: works offline


def _text(value: str) -> str:
    """Article text is shown as text: no HTML or Markdown from an article can act on the page."""
    escaped = html.escape(value, quote=False)
    for char in "\\`*_[]#|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_answer(answer: Answer) -> str:
    """Markdown for the chat: the answer, then numbered sources with outlet, date, link and quote."""
    lines = [re.sub(r"\\\[(\d+)\\\]", r"[\1]", _text(answer.answer))]  # keep the [n] markers readable
    if answer.citations:
        lines += ["", "**Sources**"]
    for citation in answer.citations:
        title = _text(citation.title) or "Untitled"
        heading = f"[{title}]({citation.url})" if citation.url.startswith(("http://", "https://")) else title
        details = ", ".join(_text(x) for x in (citation.source, citation.published or "date unknown") if x)
        lines.append(f"{citation.n}. {heading} ({details})")
        quotes = [q.text for q in citation.quotes] or [citation.quote]
        lines.append("\n   >\n".join(f"   > {_text(quote.strip())}" for quote in quotes))
    return "\n".join(lines)


def describe_index(bot: NewsBot) -> str:
    overview = bot.store.overview()
    if not overview["articles"]:
        return "The index is empty: add articles with `newsbot ingest PATH`."
    outlets = overview["outlets"]
    shown = ", ".join(outlets[:5]) + (f" and {len(outlets) - 5} more" if len(outlets) > 5 else "")
    span = ""
    if overview["first_date"]:
        span = f", published {overview['first_date']} to {overview['last_date']}"
    return (
        f"I know **{overview['articles']} articles** ({overview['chunks']} passages){span}"
        + (f", from {_text(shown)}" if shown else "")
        + ". I answer by quoting them, with numbered sources; if the articles don't say, I tell you so."
    )


def build_app(bot: NewsBot, settings: Settings | None = None) -> gr.Blocks:
    def respond(message: str, history: list) -> str:
        try:
            return render_answer(bot.ask(message))
        except QuestionError as error:
            return str(error)

    with gr.Blocks(title="newsbot: ask the entertainment news") as app:
        gr.Markdown("# newsbot\nAsk about entertainment news. " + describe_index(bot))
        gr.ChatInterface(
            respond,
            examples=EXAMPLES,
            chatbot=gr.Chatbot(height=520, label="newsbot", sanitize_html=True),
            textbox=gr.Textbox(placeholder="Ask about a film, show, actor or event…", max_length=None),
            api_name="ask",
        )
    return app


def serve(settings: Settings) -> None:
    bot = NewsBot(settings)
    bot.ensure_index()
    app = build_app(bot, settings)
    print(f"newsbot is serving on http://{settings.host}:{settings.port}", flush=True)
    app.launch(server_name=settings.host, server_port=settings.port, theme=_THEME, footer_links=["api"])
