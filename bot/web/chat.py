"""The Gradio web app: a chat with streamed answers and source cards (thumbs up/down kept for review) and a
"What was reported when" timeline (the admin page is its own app: ui_admin). A thin face on the same chain the
CLI and the HTTP API use; every search it runs counts against the asking address's question limit, as on /api/."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator

import gradio as gr
import pandas as pd

from ..answer import Answer
from ..chain import NewsBot, QuestionError
from ..settings import Settings
from .cards import excerpts, inert, render_chat_answer, render_notice, render_pending
from .feedback import FeedbackStore
from .limits import ClientLimits
from .timeline import TABLE_HEADERS, TABLE_TYPES, reported_when, timeline_figure, timeline_rows, timeline_status

log = logging.getLogger(__name__)

EXAMPLES = [
    "Who stars in What Comes After Love?",
    "Who is directing Romantic Anonymous?",
    "What did Taylor Swift say about Travis Kelce?",
]
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"])  # no web fonts: works offline
# Page styles, shipped inside the app (a <style> in a hidden HTML element): a mounted app gets no `css=`.
CSS = """
#newsbot-style { display: none; }
.nb-table .table-wrap, .nb-table .table-wrap * { font-family: var(--font) !important; }  /* not monospace */
#newsbot-footer { text-align: center; font-size: var(--text-sm); opacity: .8; }
@media (max-width: 640px) {
  .gradio-container > .main { padding-left: 6px !important; padding-right: 6px !important; }
  #newsbot-chat .message-row.bubble { margin-left: 0 !important; margin-right: 0 !important; max-width: 100% !important; }
  #newsbot-chat .message-row.bubble.user-row { max-width: 90% !important; }
  #newsbot-chat .message-row .message { padding-left: 6px !important; padding-right: 6px !important; }
  #newsbot-chat .message-row .message .message { padding-left: 0 !important; padding-right: 0 !important; }
  #newsbot-chat .bubble .icon-button-wrapper { margin-left: 0 !important; margin-right: 0 !important; }
}
"""
# Gradio's own "Use via API" page documents its internal endpoints; the app's HTTP API has its docs at /docs.
FOOTER = "Answers for your own code and your website: [HTTP API documentation](/docs)"


def _text(value: str) -> str:
    """Article text is shown as text: no HTML or Markdown from an article can act on the page."""
    escaped = html.escape(value, quote=False)
    for char in "\\`*_[]#|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_answer(answer: Answer) -> str:
    """Markdown for text-only clients (the `/ask` endpoint): the answer, then numbered sources with outlet,
    date, link and quote. The chat shows the same answer as HTML cards (ui_cards)."""
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
    """The first screen's line on what the bot knows: articles, passages, dates and outlets."""
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


def _history(turns: list[dict], settings: Settings) -> list[dict]:
    """The latest turns the bot accepts, each cut to the allowed length (a long answer must not fail the next)."""
    keep = turns[-settings.max_history_turns :] if settings.max_history_turns else []
    return [{**turn, "content": turn["content"][: settings.max_history_chars]} for turn in keep]


Step = tuple[str, list, list[dict], dict]


def _reply(chat: list, content: str) -> list:
    """The chat with the bot's message (a new list each time: every streamed step stands on its own)."""
    return [*chat, {"role": "assistant", "content": content}]


class Chat:
    """The chat tab's event handlers: one bot and one feedback store, conversation state kept per browser."""

    def __init__(self, bot: NewsBot, feedback: FeedbackStore, limits: ClientLimits):
        self.bot = bot
        self.feedback = feedback
        self.limits = limits

    def respond(
        self, message: str, chat: list, turns: list[dict], records: dict, request: gr.Request | None = None
    ) -> Iterator[Step]:
        """Stream the answer into the chat: provisional text first, then the checked answer with its sources.
        Yields (question box, chat messages, conversation turns, answers by message index)."""
        asked = [*(chat or [])]
        if (message or "").strip():
            asked.append({"role": "user", "content": render_notice(message)})
        refusal = self.limits.question(client_address(request))
        if refusal:
            yield message, _reply(asked, render_notice(refusal.message)), turns, records
            return
        chat = _reply(asked, render_pending("", "Searching the articles…"))
        yield "", chat, turns, records
        answer, text = None, ""
        try:
            for item in self.bot.stream(message or "", history=_history(turns, self.bot.settings)):
                if isinstance(item, Answer):
                    answer = item
                    break
                text += item
                chat = _reply(asked, render_pending(text, "Writing… (checked when done)"))
                yield "", chat, turns, records
        except QuestionError as error:
            chat = _reply(asked, render_notice(str(error)))
            yield "", chat, turns, records
            return
        except Exception:
            log.exception("answering in the chat failed")
            notice = "Something went wrong while answering; the server log has the details. Try again."
            chat = _reply(asked, render_notice(notice))
            yield "", chat, turns, records
            return
        if answer is None:
            return
        chat = _reply(asked, render_chat_answer(answer, excerpts(answer, self.bot.store)))
        turns = [*turns, {"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.answer}]
        record = {
            "question": answer.question,
            "answer": answer.answer,
            "citations": [citation.model_dump() for citation in answer.citations],
        }
        yield "", chat, turns, {**records, len(chat) - 1: record}

    def vote(self, data: gr.LikeData, records: dict) -> tuple[dict, int | None, dict]:
        """Thumbs up/down: stored at once; the comment box opens for an optional comment."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        record = records.get(index)
        if record is None:
            gr.Info("Only answers can be rated.")
            return records, None, gr.update(visible=False)
        row = record.get("feedback_id")
        if data.liked not in (True, False):  # the vote was taken back
            if row is not None:
                self.feedback.delete(row)
            record = {key: value for key, value in record.items() if key != "feedback_id"}
            return {**records, index: record}, None, gr.update(visible=False)
        vote = "up" if data.liked else "down"
        if row is None or not self.feedback.update(row, vote=vote):
            row = self.feedback.record(record["question"], record["answer"], record["citations"], vote)
        return {**records, index: {**record, "feedback_id": row}}, row, gr.update(visible=True)

    def comment(self, text: str, row: int | None) -> tuple[str, dict]:
        """The optional comment on the answer just rated."""
        if row is not None and (text or "").strip():
            self.feedback.update(row, comment=text.strip()[:2000])
            gr.Info("Thank you: your comment was saved with your rating.")
        return "", gr.update(visible=False)


def header(bot: NewsBot) -> str:
    return "# newsbot\nAsk about entertainment news. " + describe_index(bot)


def _example_text(data: gr.SelectData) -> str:
    return data.value["text"]


def client_address(request: gr.Request | None) -> str:
    """The asking client's address, as the gate in front of the routes sees it."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def checked_limit(limits: ClientLimits, request: gr.Request | None) -> None:
    """A search from the timeline or the `ask` endpoint: refused with the API's message past the limit."""
    refusal = limits.question(client_address(request))
    if refusal:
        raise gr.Error(refusal.message, title="Too many requests", print_exception=False)


def _chat_tab(bot: NewsBot, limits: ClientLimits) -> None:
    chat = Chat(bot, FeedbackStore.beside(bot.settings.index), limits)
    chatbot = gr.Chatbot(
        label="newsbot",
        show_label=False,
        height="68vh",
        min_height=420,
        sanitize_html=True,
        latex_delimiters=[],  # "$" in an article is a dollar, not LaTeX
        feedback_options=("Like", "Dislike"),
        examples=[{"text": question} for question in EXAMPLES],
        buttons=[],
        elem_id="newsbot-chat",
    )
    textbox = gr.Textbox(
        placeholder="Ask about a film, show, actor or event… (follow-up questions are understood)",
        show_label=False,
        submit_btn=True,
        max_lines=4,
        elem_id="newsbot-question",
    )
    turns = gr.State([])  # plain text of the conversation, for follow-up questions
    records = gr.State({})  # chat message index -> the answer, for feedback
    voted = gr.State(None)  # feedback row of the latest vote, for its comment
    with gr.Row(visible=False) as comment_row:
        comment = gr.Textbox(label="Add a comment on this answer (optional)", scale=4, max_lines=3)
        send = gr.Button("Send comment", scale=1)

    private = {"api_visibility": "private"}
    streamed = [textbox, chatbot, turns, records]
    textbox.submit(chat.respond, [textbox, chatbot, turns, records], streamed, **private)
    chatbot.example_select(_example_text, None, textbox, **private).then(
        chat.respond, [textbox, chatbot, turns, records], streamed, **private
    )
    chatbot.clear(lambda: ([], {}, None), None, [turns, records, voted], **private)
    chatbot.like(chat.vote, [records], [records, voted, comment_row], **private)
    send.click(chat.comment, [comment, voted], [comment, comment_row], **private)
    comment.submit(chat.comment, [comment, voted], [comment, comment_row], **private)


def _timeline_tab(bot: NewsBot, limits: ClientLimits) -> None:
    def show(name: str, request: gr.Request | None = None):
        """The articles naming a title or a person: a timeline plot, the dated ones and the undated ones."""
        if not (name or "").strip():
            raise gr.Error("Type a title or a person, for example What Comes After Love.")
        checked_limit(limits, request)
        timeline = reported_when(bot, name)
        return (
            timeline_status(timeline, inert(timeline.name)),
            timeline_figure(timeline),
            pd.DataFrame(timeline_rows(timeline.dated), columns=TABLE_HEADERS),
            gr.update(
                value=pd.DataFrame(timeline_rows(timeline.undated), columns=TABLE_HEADERS),
                visible=bool(timeline.undated),
            ),
        )

    gr.Markdown("Type a title or a person: every article that names it, placed by publication date.")
    with gr.Row():
        name = gr.Textbox(label="Title or person", placeholder="What Comes After Love", max_lines=1, scale=4)
        button = gr.Button("Show", variant="primary", scale=1)
    status = gr.Markdown()
    plot = gr.Plot(label="Timeline", format="png")
    table_style = {
        "headers": TABLE_HEADERS,
        "datatype": TABLE_TYPES,
        "column_widths": ["11%", "14%", "26%", "8%", "41%"],
        "interactive": False,
        "wrap": True,
        "elem_classes": ["nb-table"],
    }
    table = gr.Dataframe(label="Articles by date", **table_style)
    undated = gr.Dataframe(label="Undated articles (not on the timeline)", visible=False, **table_style)
    outputs = [status, plot, table, undated]
    button.click(show, [name], outputs, api_name="reported_when")
    name.submit(show, [name], outputs, api_visibility="private")


def build_app(bot: NewsBot, settings: Settings | None = None, limits: ClientLimits | None = None) -> gr.Blocks:
    """The chat web app over `bot`, mounted at / by the HTTP API (bot.web.api), whose gate guards its routes;
    `limits` are that gate's, so that a client's questions count once whichever route asks them."""
    settings = settings or bot.settings
    limits = limits or ClientLimits(settings)

    def ask(question: str, request: gr.Request | None = None) -> str:
        """Answer one question: Markdown with numbered sources (the chat shows the same answer as cards)."""
        checked_limit(limits, request)
        try:
            return render_answer(bot.ask(question))
        except QuestionError as error:
            return str(error)

    with gr.Blocks(title="newsbot: ask the entertainment news") as app:
        gr.HTML(f"<style>{CSS}</style>", elem_id="newsbot-style", container=False, padding=False)
        gr.Markdown(lambda: header(bot))
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                _chat_tab(bot, limits)
            with gr.Tab("What was reported when", id="timeline"):
                _timeline_tab(bot, limits)
        gr.Markdown(FOOTER, elem_id="newsbot-footer")
        gr.api(ask, api_name="ask")
    return app
