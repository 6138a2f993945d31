/* newsbot chat widget. On any page:
 *   <script src="https://NEWSBOT-HOST/widget.js" data-site="KEY" async></script>
 * adds a bubble that opens a panel answering questions about the news, with numbered, linked sources.
 * The page's origin must be listed under KEY in the server's NEWSBOT_SITES.
 *
 * Safety: everything that comes from articles or users is inserted as text (textContent, DOM nodes), never as
 * HTML. Styles live in a shadow root, so the host page and the widget cannot restyle each other.
 */
(function () {
  "use strict";

  const script =
    document.currentScript || document.querySelector('script[src*="/widget.js"][data-site]');
  if (!script || window.__newsbotWidget) return;
  window.__newsbotWidget = true;

  const API = new URL(script.src, location.href).origin;
  const SITE = script.getAttribute("data-site") || "";
  const MAX_TURNS = 10; // earlier turns sent with each question (the server keeps no conversation state)
  const MAX_TURN_CHARS = 4000;

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .bubble {
      position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border: 0; border-radius: 50%;
      background: #1f4e8c; color: #fff; font: 600 15px/1 system-ui, sans-serif; cursor: pointer;
      box-shadow: 0 4px 14px rgba(0, 0, 0, .25); z-index: 2147483000;
    }
    .panel {
      position: fixed; right: 20px; bottom: 88px; width: 380px; max-width: calc(100vw - 40px);
      height: min(560px, calc(100vh - 120px)); display: flex; flex-direction: column; overflow: hidden;
      background: #fff; color: #1a1a1a; border-radius: 12px; box-shadow: 0 8px 30px rgba(0, 0, 0, .3);
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; z-index: 2147483001;
    }
    .panel[hidden] { display: none; }
    header {
      display: flex; align-items: center; justify-content: space-between; padding: 10px 14px;
      background: #1f4e8c; color: #fff; font-weight: 600;
    }
    .close { background: none; border: 0; color: #fff; font: 22px/1 system-ui, sans-serif; cursor: pointer; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; }
    .msg { max-width: 92%; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; overflow-wrap: anywhere; }
    .user { align-self: flex-end; background: #e3ecf8; }
    .bot { align-self: flex-start; background: #f3f3f3; }
    .error { background: #fdecea; color: #8a1c12; }
    .short { font-weight: 700; font-size: 15px; margin-bottom: 4px; }
    .sources-label { margin-top: 8px; font-weight: 600; white-space: normal; }
    .sources { margin: 4px 0 0; padding-left: 22px; white-space: normal; }
    .sources li { margin: 4px 0; }
    .sources a { color: #1f4e8c; }
    .meta { color: #555; }
    .quote { display: block; color: #444; font-size: 12.5px; margin-top: 2px; }
    form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #ddd; }
    input {
      flex: 1; min-width: 0; padding: 8px 10px; font: inherit; color: inherit; border: 1px solid #bbb;
      border-radius: 8px; background: #fff;
    }
    .send { padding: 8px 12px; border: 0; border-radius: 8px; background: #1f4e8c; color: #fff; font: inherit; cursor: pointer; }
    button:disabled, input:disabled { opacity: .6; cursor: default; }
    @media (max-width: 480px) {
      .panel { inset: 0; width: 100%; max-width: 100%; height: 100%; border-radius: 0; }
      input { font-size: 16px; }
    }
  `;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const host = el("div");
  host.id = "newsbot-widget";
  const root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", "", CSS));

  const bubble = el("button", "bubble", "Ask");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Ask the news (newsbot)");
  bubble.setAttribute("aria-expanded", "false");

  const panel = el("section", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Ask the news");
  const header = el("header", "", "");
  header.appendChild(el("span", "", "Ask the news"));
  const close = el("button", "close", "\u00d7");
  close.type = "button";
  close.setAttribute("aria-label", "Close");
  header.appendChild(close);
  const log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  const form = el("form");
  const input = el("input");
  input.type = "text";
  input.placeholder = "Ask about a film, show, actor or event\u2026";
  input.setAttribute("aria-label", "Your question");
  input.maxLength = 1000;
  const send = el("button", "send", "Send");
  send.type = "submit";
  form.append(input, send);
  panel.append(header, log, form);
  root.append(bubble, panel);
  if (document.body) document.body.appendChild(host);
  else document.addEventListener("DOMContentLoaded", () => document.body.appendChild(host));

  const turns = [];
  let greeted = false;

  function setOpen(open) {
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    if (open && !greeted) {
      greeted = true;
      say("bot", "Ask me about entertainment news. I answer by quoting articles, with numbered sources.");
    }
    if (open) input.focus();
  }

  function say(role, text) {
    const box = el("div", "msg " + role, text);
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
    return box;
  }

  function fail(box, message) {
    box.className = "msg bot error";
    box.textContent = message;
    box.removeAttribute("aria-busy");
  }

  // The built-in answerer opens its answer with a short one (a name, date or number) and names it in
  // `short_answer`: it gets a bold line of its own, the supporting quotes follow.
  function splitShort(answer) {
    const text = String(answer.answer || "").trim();
    const short = String(answer.short_answer || "").trim();
    if (answer.abstained || !short || !text.startsWith(short)) return ["", text];
    return [short, text.slice(short.length).replace(/^\.\s*/, "").trim()];
  }

  function showAnswer(box, answer) {
    box.textContent = "";
    const [short, rest] = splitShort(answer);
    const text = el("div", "text");
    if (short) text.appendChild(el("div", "short", short));
    if (rest) text.appendChild(el("div", "", rest));
    box.appendChild(text);
    const citations = Array.isArray(answer.citations) ? answer.citations : [];
    if (!citations.length) return;
    box.appendChild(el("div", "sources-label", "Sources"));
    const list = el("ol", "sources");
    for (const citation of citations) {
      const item = el("li");
      item.value = Number(citation.n) || 0;
      const title = citation.title || "Untitled";
      const url = String(citation.url || "");
      let heading;
      if (/^https?:\/\//i.test(url)) {
        heading = el("a", "title", title);
        heading.href = url;
        heading.target = "_blank";
        heading.rel = "noopener noreferrer";
      } else {
        heading = el("span", "title", title);
      }
      const details = [citation.source, citation.published || "date unknown"].filter(Boolean).join(", ");
      item.append(heading, el("span", "meta", " (" + details + ")"));
      if (citation.quote) item.appendChild(el("q", "quote", String(citation.quote).trim()));
      list.appendChild(item);
    }
    box.appendChild(list);
  }

  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    try {
      return { name: name, data: data.length ? JSON.parse(data.join("\n")) : {} };
    } catch (error) {
      return { name: "error", data: { error: "newsbot sent an answer this widget could not read." } };
    }
  }

  async function readError(response) {
    try {
      const data = await response.json();
      if (data && typeof data.error === "string") return data.error;
    } catch (error) {
      /* not JSON: fall through */
    }
    return "newsbot could not answer (HTTP " + response.status + ").";
  }

  async function ask(question) {
    const history = turns.slice(-MAX_TURNS);
    const asked = say("user", question);
    const box = say("bot", "\u2026");
    box.setAttribute("aria-busy", "true");
    let response;
    try {
      // text/plain keeps this a "simple" cross-origin request: no preflight, and a refusal stays readable.
      response = await fetch(API + "/api/chat" + (SITE ? "?site=" + encodeURIComponent(SITE) : ""), {
        method: "POST",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify({ question: question, history: history }),
      });
    } catch (error) {
      fail(box, "Could not reach newsbot at " + API + ". Check the connection and try again.");
      return;
    }
    if (!response.ok || !response.body) {
      fail(box, await readError(response));
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let text = "";
    let answer = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (event.name === "delta") {
          text += event.data.text || "";
          box.textContent = text;
          log.scrollTop = log.scrollHeight;
        } else if (event.name === "answer") {
          answer = event.data;
          showAnswer(box, answer);
          log.scrollTop = asked.offsetTop - log.offsetTop - 8; // the question on top, the answer read from its start
        } else if (event.name === "error") {
          fail(box, event.data.error || "newsbot failed while answering.");
        }
      }
    }
    box.removeAttribute("aria-busy");
    if (answer) {
      turns.push({ role: "user", content: question.slice(0, MAX_TURN_CHARS) });
      turns.push({ role: "assistant", content: String(answer.answer || "").slice(0, MAX_TURN_CHARS) });
    } else if (box.textContent === "\u2026") {
      fail(box, "The answer was cut off. Try again.");
    }
  }

  bubble.addEventListener("click", function () {
    setOpen(panel.hidden);
  });
  close.addEventListener("click", function () {
    setOpen(false);
    bubble.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close.click();
  });
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    input.value = "";
    input.disabled = send.disabled = true;
    try {
      await ask(question);
    } finally {
      input.disabled = send.disabled = false;
      input.focus();
    }
  });
})();
