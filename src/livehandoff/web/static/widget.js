// The livehandoff customer chat widget: one tag on any page, no build step, no dependencies.
//
//   <script src="https://bridge.example/static/widget.js" data-title="Help" data-language="en" defer></script>
//
// It adds a <livehandoff-chat> element (or configures the ones already on the page) that talks to the
// customer API of the bridge it was loaded from (or data-bridge-url): POST for messages, server-sent
// events for everything else. The conversation's id and token are kept in localStorage, so a reload
// continues the same conversation; "Start over" forgets them.
"use strict";

(() => {
  const TAG = "livehandoff-chat";
  if (customElements.get(TAG)) return;

  const script = document.currentScript;
  const defaults = { ...(script ? script.dataset : {}) };
  const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  const LANGUAGE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;
  const RETRY_MS = 3000;
  const TYPING_MS = 15000;

  const STRINGS = {
    en: {
      launcher: "Chat with us",
      title: "Chat with us",
      bot: "Bot",
      agent: "Agent",
      you: "You",
      botMode: "Our bot answers right away",
      connecting: "Connecting you to an agent…",
      inLine: (position, minutes) =>
        `You're number ${position} in line` + (minutes ? ` — about ${minutes} min` : ""),
      stopWaiting: "Stop waiting",
      withAgent: (name) => `You're chatting with ${name}`,
      log: "Conversation",
      label: "Your message",
      placeholder: "Write a message…",
      send: "Send",
      startOver: "Start over",
      minimise: "Minimise the chat",
      suggestions: "Suggested replies",
      intro: "Hi! Ask us anything. Our bot answers right away, and a person can take over whenever you like.",
      typing: "Typing",
      offline: "You're offline, so your message was not sent. It's still in the box — send it again when you're back online.",
      unreachable: "We can't reach the chat right now, so your message may not have been sent. Please send it again in a moment: it won't appear twice.",
      rejected: (why) => `Your message was not sent: ${why}`,
      reconnecting: "Connection lost. Reconnecting…",
      offlineStatus: "You're offline. The chat reconnects when you're back online.",
      gone: "This conversation is no longer available.",
      held: "Not sent yet — waiting to be sent…",
    },
    de: {
      launcher: "Chat starten",
      title: "Chat",
      bot: "Bot",
      agent: "Mitarbeiter",
      you: "Sie",
      botMode: "Unser Bot antwortet sofort",
      connecting: "Sie werden mit einem Mitarbeiter verbunden…",
      inLine: (position, minutes) =>
        `Sie sind Nummer ${position} in der Warteschlange` + (minutes ? ` — etwa ${minutes} Min.` : ""),
      stopWaiting: "Nicht mehr warten",
      withAgent: (name) => `Sie schreiben mit ${name}`,
      log: "Unterhaltung",
      label: "Ihre Nachricht",
      placeholder: "Nachricht schreiben…",
      send: "Senden",
      startOver: "Neu beginnen",
      minimise: "Chat minimieren",
      suggestions: "Antwortvorschläge",
      intro: "Hallo! Fragen Sie uns alles. Unser Bot antwortet sofort, und jederzeit kann ein Mensch übernehmen.",
      typing: "Schreibt",
      offline: "Sie sind offline, Ihre Nachricht wurde nicht gesendet. Sie steht noch im Eingabefeld — senden Sie sie erneut, sobald Sie wieder online sind.",
      unreachable: "Der Chat ist gerade nicht erreichbar, Ihre Nachricht wurde vielleicht nicht gesendet. Bitte senden Sie sie gleich noch einmal: Sie erscheint nicht doppelt.",
      rejected: (why) => `Ihre Nachricht wurde nicht gesendet: ${why}`,
      reconnecting: "Verbindung unterbrochen. Neuer Versuch…",
      offlineStatus: "Sie sind offline. Der Chat verbindet sich wieder, sobald Sie online sind.",
      gone: "Diese Unterhaltung ist nicht mehr verfügbar.",
      held: "Noch nicht gesendet — wartet auf Versand…",
    },
  };

  const STYLE = `
    :host {
      all: initial;
      --accent: #4338ca; --accent-text: #ffffff; --bg: #ffffff; --text: #1c1f26; --muted: #5b6270;
      --bot-bubble: #eef0f4; --line: #dfe2e8; --error: #b42318; --error-bg: #fdecea; --notice-bg: #fff4d6;
      --focus: #1d4ed8; --shadow: 0 12px 40px rgba(15, 23, 42, .22);
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
      color: var(--text);
    }
    @media (prefers-color-scheme: dark) {
      :host {
        --accent: #818cf8; --accent-text: #0b0d12; --bg: #1b1e26; --text: #eceef3; --muted: #a7adba;
        --bot-bubble: #2a2e39; --line: #343946; --error: #ffb4a9; --error-bg: #3b1e1b; --notice-bg: #3a3118;
        --focus: #a5b4fc; --shadow: 0 12px 40px rgba(0, 0, 0, .6);
      }
    }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    button, textarea { font: inherit; color: inherit; }
    button { cursor: pointer; }
    :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    .launcher {
      display: flex; align-items: center; gap: 8px; margin-left: auto; padding: 12px 18px; border: 0;
      border-radius: 999px; background: var(--accent); color: var(--accent-text); font-weight: 600;
      box-shadow: var(--shadow);
    }
    .launcher svg, .send svg { width: 20px; height: 20px; flex: none; }
    .panel {
      position: absolute; right: 0; bottom: 64px; width: 370px; height: min(620px, calc(100vh - 110px));
      display: flex; flex-direction: column; background: var(--bg); border: 1px solid var(--line);
      border-radius: 16px; box-shadow: var(--shadow); overflow: hidden;
    }
    header {
      display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
      background: var(--accent); color: var(--accent-text);
    }
    header :focus-visible { outline-color: var(--accent-text); }
    .heading { flex: 1; min-width: 0; }
    h2 { margin: 0; font-size: 16px; }
    .mode { margin: 2px 0 0; font-size: 13px; opacity: .92; display: flex; align-items: center; gap: 6px; }
    .mode .dot { width: 8px; height: 8px; border-radius: 50%; background: currentColor; flex: none; }
    :host([data-mode="connecting"]) .mode .dot { animation: pulse 1s ease-in-out infinite; }
    @keyframes pulse { 50% { opacity: .25; } }
    .quiet {
      border: 1px solid transparent; background: transparent; color: inherit; border-radius: 8px; padding: 6px 8px;
      font-size: 13px;
    }
    .quiet:hover { border-color: currentColor; }
    .minimise { font-size: 20px; line-height: 1; padding: 2px 10px 8px; }
    .notice {
      margin: 0; padding: 8px 16px; background: var(--notice-bg); font-size: 14px;
      display: flex; gap: 8px; align-items: center; justify-content: space-between;
    }
    .notice:empty { padding: 0; }
    .notice button { border: 1px solid var(--text); background: transparent; border-radius: 8px; padding: 4px 10px; }
    ol { list-style: none; margin: 0; padding: 16px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 10px; }
    li { display: flex; flex-direction: column; max-width: 85%; }
    .who { font-size: 12px; color: var(--muted); margin: 0 0 2px 4px; }
    .bubble { margin: 0; padding: 9px 13px; border-radius: 16px; white-space: pre-wrap; overflow-wrap: anywhere; }
    .bot, .agent, .typing { align-self: flex-start; }
    .bot .bubble, .agent .bubble, .typing .bubble { background: var(--bot-bubble); border-bottom-left-radius: 4px; }
    .agent .who { color: var(--text); font-weight: 600; }
    .customer { align-self: flex-end; align-items: flex-end; }
    .customer .bubble { background: var(--accent); color: var(--accent-text); border-bottom-right-radius: 4px; }
    .customer.held .bubble { opacity: .6; }
    .held-note { font-size: 12px; color: var(--muted); margin: 3px 4px 0; }
    .system, .intro { align-self: center; max-width: 92%; text-align: center; font-size: 13px; color: var(--muted); }
    .typing .bubble { display: flex; gap: 4px; padding: 13px 14px; }
    .typing .bubble span { width: 7px; height: 7px; border-radius: 50%; background: var(--muted); animation: pulse 1.2s infinite; }
    .typing .bubble span:nth-child(2) { animation-delay: .2s; }
    .typing .bubble span:nth-child(3) { animation-delay: .4s; }
    .quick { display: flex; flex-wrap: wrap; gap: 8px; padding: 0 16px 12px; }
    .quick:empty { display: none; }
    .quick button {
      border: 1px solid var(--accent); background: transparent; color: var(--text); border-radius: 999px;
      padding: 6px 12px; font-size: 14px;
    }
    .quick button:hover { background: var(--bot-bubble); }
    form { border-top: 1px solid var(--line); padding: 10px 12px 12px; }
    .row { display: flex; gap: 8px; align-items: flex-end; }
    textarea {
      flex: 1; resize: none; min-height: 42px; max-height: 140px; padding: 10px 12px; border: 1px solid var(--line);
      border-radius: 12px; background: var(--bg); line-height: 1.35;
    }
    textarea::placeholder { color: var(--muted); }
    .send {
      display: flex; align-items: center; gap: 6px; height: 42px; padding: 0 14px; border: 0; border-radius: 12px;
      background: var(--accent); color: var(--accent-text); font-weight: 600;
    }
    .send:disabled, textarea:disabled { opacity: .55; cursor: not-allowed; }
    .error { margin: 8px 2px 0; padding: 8px 10px; border-radius: 8px; background: var(--error-bg); color: var(--error); font-size: 14px; }
    .error:empty { margin: 0; padding: 0; }
    @media (max-width: 480px) {
      :host { right: 12px; bottom: 12px; }
      .panel { position: fixed; inset: 0; width: auto; height: 100%; border-radius: 0; border: 0; }
      :host([data-expanded]) .launcher { display: none; }
    }
    @media (prefers-reduced-motion: reduce) {
      :host([data-mode="connecting"]) .mode .dot, .typing .bubble span { animation: none; }
    }
  `;

  const ICON_CHAT = `<svg viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>`;
  const ICON_SEND = `<svg viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z"/></svg>`;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  class SendError extends Error {}

  // 128 random bits; crypto.getRandomValues also works on pages that are not a secure context.
  function newIdempotencyKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  class LivehandoffChat extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this.conversation = null;
      this.source = null;
      this.lastSeq = 0;
      this.busy = false;
      this.outgoing = null;
      this.typingTimer = 0;
      this.retryTimer = 0;
      this.isGone = false;
      this.held = new Set(); // ids of the customer's messages the bridge holds during a LiveChat outage
    }

    option(name) {
      const camel = name.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());
      return this.getAttribute(`data-${name}`) ?? this.getAttribute(name) ?? defaults[camel] ?? null;
    }

    get bridgeUrl() {
      return (this.option("bridge-url") || scriptOrigin).replace(/\/+$/, "");
    }

    get storageKey() {
      return `livehandoff:${this.bridgeUrl}`;
    }

    connectedCallback() {
      if (!this.ui) this.setUp();
      window.addEventListener("online", this.onOnline);
      window.addEventListener("offline", this.onOffline);
      if (this.conversation && !this.isGone) this.connect();
    }

    disconnectedCallback() {
      if (this.source) this.source.close();
      this.source = null;
      clearTimeout(this.retryTimer);
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
    }

    setUp() {
      const language = (this.option("language") || document.documentElement.lang || "en").replace("_", "-");
      this.language = LANGUAGE.test(language) ? language : null;
      this.t = STRINGS[(language.split("-")[0] || "").toLowerCase()] || STRINGS.en;
      const accent = this.option("accent");
      if (accent) this.style.setProperty("--accent", accent);
      this.render();
      this.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && this.hasAttribute("data-expanded")) this.setOpen(false);
      });
      this.onOnline = () => this.setNotice(this.source && this.source.readyState === EventSource.OPEN ? "" : this.t.reconnecting);
      this.onOffline = () => this.setNotice(this.t.offlineStatus);
      this.setMode("bot");
      const stored = this.load();
      if (stored && stored.id && stored.token) this.conversation = { id: stored.id, token: stored.token };
      else this.showIntro();
      if ((stored && stored.open) || (this.option("open") !== null && this.option("open") !== "false")) {
        this.setOpen(true, { focus: false });
      }
    }

    // --- the markup

    render() {
      const t = this.t;
      const root = this.shadowRoot;
      const style = document.createElement("style");
      style.textContent = STYLE;
      const launcher = el("button", "launcher");
      launcher.type = "button";
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-controls", "panel");
      launcher.innerHTML = ICON_CHAT;
      launcher.append(el("span", "", this.option("launcher") || t.launcher));

      const panel = el("section", "panel");
      panel.id = "panel";
      panel.hidden = true;
      panel.setAttribute("aria-labelledby", "title");
      const header = el("header");
      const heading = el("div", "heading");
      const title = el("h2", "", this.option("title") || t.title);
      title.id = "title";
      const mode = el("p", "mode");
      mode.append(el("span", "dot"), el("span"));
      heading.append(title, mode);
      const restart = el("button", "quiet restart", t.startOver);
      restart.type = "button";
      const minimise = el("button", "quiet minimise", "–");
      minimise.type = "button";
      minimise.setAttribute("aria-label", t.minimise);
      header.append(heading, restart, minimise);

      const notice = el("div", "notice");
      notice.setAttribute("role", "status");
      const log = el("ol", "log");
      log.setAttribute("role", "log");
      log.setAttribute("aria-live", "polite");
      log.setAttribute("aria-label", t.log);
      log.tabIndex = 0;
      const quick = el("div", "quick");
      quick.setAttribute("role", "group");
      quick.setAttribute("aria-label", t.suggestions);

      const form = el("form");
      const label = el("label", "sr", t.label);
      label.htmlFor = "input";
      const row = el("div", "row");
      const input = el("textarea");
      input.id = "input";
      input.rows = 1;
      input.placeholder = t.placeholder;
      input.setAttribute("aria-describedby", "error");
      const send = el("button", "send");
      send.type = "submit";
      send.innerHTML = ICON_SEND;
      send.append(el("span", "", t.send));
      const error = el("p", "error");
      error.id = "error";
      error.setAttribute("role", "alert");
      row.append(input, send);
      form.append(label, row, error);
      panel.append(header, notice, log, quick, form);
      root.append(style, panel, launcher);

      this.ui = { launcher, panel, mode: mode.lastChild, restart, minimise, notice, log, quick, form, input, send, error };
      launcher.addEventListener("click", () => this.setOpen(!this.hasAttribute("data-expanded")));
      minimise.addEventListener("click", () => this.setOpen(false));
      restart.addEventListener("click", () => this.startOver());
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });
      input.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
        event.preventDefault();
        this.submit();
      });
      input.addEventListener("input", () => this.fitInput());
    }

    fitInput() {
      const input = this.ui.input;
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight + 2, 140)}px`;
    }

    setOpen(open, { focus = true } = {}) {
      const { panel, launcher, input } = this.ui;
      panel.hidden = !open;
      this.toggleAttribute("data-expanded", open);
      launcher.setAttribute("aria-expanded", String(open));
      this.save({ open });
      if (!focus) return;
      if (open) {
        input.focus();
        this.scrollToEnd();
      } else {
        launcher.focus();
      }
    }

    setMode(mode, agentName) {
      const t = this.t;
      const was = this.getAttribute("data-mode");
      this.setAttribute("data-mode", mode);
      this.ui.mode.textContent = mode === "agent" ? t.withAgent(agentName || t.agent) : mode === "connecting" ? t.connecting : t.botMode;
      if (mode === "connecting" && was !== "connecting") this.setNotice(t.connecting, this.stopWaitingButton());
      else if (mode !== "connecting" && was === "connecting") this.setNotice("");
    }

    setNotice(text, action) {
      const notice = this.ui.notice;
      notice.replaceChildren();
      if (!text) return;
      notice.append(el("span", "", text));
      if (action) notice.append(action);
    }

    showError(text) {
      this.ui.error.textContent = text;
    }

    setBusy(busy) {
      this.busy = busy;
      this.ui.send.disabled = busy || this.isGone;
    }

    scrollToEnd() {
      const log = this.ui.log;
      log.scrollTop = log.scrollHeight;
    }

    showIntro() {
      this.ui.log.replaceChildren(el("li", "intro", this.t.intro));
    }

    // --- storage

    load() {
      try {
        return JSON.parse(localStorage.getItem(this.storageKey)) || null;
      } catch {
        return null;
      }
    }

    save(changes) {
      try {
        const current = this.load() || {};
        localStorage.setItem(this.storageKey, JSON.stringify({ ...current, ...changes }));
      } catch {
        // Storage may be disabled (private mode, policies): the chat still works until the page is left.
      }
    }

    // --- the customer API

    api(path) {
      return `${this.bridgeUrl}/v1/conversations${path}`;
    }

    async start() {
      const body = {};
      if (this.language) body.language = this.language;
      if (/^https?:/.test(location.protocol)) body.page_url = location.href.slice(0, 2048);
      const name = this.option("customer-name");
      const email = this.option("customer-email");
      if (name || email) body.customer = { ...(name ? { name } : {}), ...(email ? { email } : {}) };
      const response = await fetch(this.api(""), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.status !== 201) throw new SendError(this.t.rejected(await this.reason(response)));
      const created = await response.json();
      this.conversation = { id: created.id, token: created.token };
      this.save({ id: created.id, token: created.token });
      this.ui.log.replaceChildren();
      this.connect();
    }

    async reason(response) {
      const body = await response.json().catch(() => null);
      return (body && body.error && body.error.message) || `error ${response.status}`;
    }

    async submit() {
      const input = this.ui.input;
      if (await this.send(input.value)) {
        input.value = "";
        this.fitInput();
      }
      input.focus();
    }

    async send(raw) {
      const text = raw.trim();
      if (!text || this.busy) return false;
      this.setBusy(true);
      this.showError("");
      try {
        if (!this.conversation) await this.start();
        const { id, token } = this.conversation;
        // Sending the same text again after a failure reuses its key: if the first attempt did arrive
        // (only its answer was lost), the bridge stores it once.
        if (this.outgoing?.text !== text) this.outgoing = { text, key: newIdempotencyKey() };
        const response = await fetch(this.api(`/${encodeURIComponent(id)}/messages`), {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "idempotency-key": this.outgoing.key,
          },
          body: JSON.stringify({ text }),
        });
        if (response.status === 202) {
          this.outgoing = null;
          return true;
        }
        if (response.status === 401 || response.status === 404) {
          this.gone();
          return false;
        }
        throw new SendError(this.t.rejected(await this.reason(response)));
      } catch (error) {
        const offline = navigator.onLine === false;
        this.showError(error instanceof SendError ? error.message : offline ? this.t.offline : this.t.unreachable);
        return false;
      } finally {
        this.setBusy(false);
      }
    }

    // EventSource resends Last-Event-ID by itself when it reconnects. Only when it gave up (the server
    // answered with an error) do we find out why and, unless the conversation is gone, open a new one
    // that resumes after the last event we showed.
    connect() {
      if (this.source) this.source.close();
      clearTimeout(this.retryTimer);
      const { id, token } = this.conversation;
      const url = new URL(this.api(`/${encodeURIComponent(id)}/events`));
      url.searchParams.set("token", token);
      if (this.lastSeq) url.searchParams.set("after", String(this.lastSeq));
      const source = new EventSource(url);
      this.source = source;
      source.onopen = () => this.setNotice("");
      source.onmessage = (event) => this.receive(JSON.parse(event.data));
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) this.checkGone(source);
        else this.setNotice(navigator.onLine === false ? this.t.offlineStatus : this.t.reconnecting);
      };
    }

    async checkGone(source) {
      if (source !== this.source || !this.conversation) return;
      const { id, token } = this.conversation;
      try {
        const response = await fetch(this.api(`/${encodeURIComponent(id)}`), {
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status === 401 || response.status === 404) {
          this.gone();
          return;
        }
      } catch {
        // Unreachable: try again below.
      }
      if (source !== this.source) return;
      this.setNotice(navigator.onLine === false ? this.t.offlineStatus : this.t.reconnecting);
      this.retryTimer = setTimeout(() => this.connect(), RETRY_MS);
    }

    gone() {
      if (this.source) this.source.close();
      this.source = null;
      const again = el("button", "", this.t.startOver);
      again.type = "button";
      again.addEventListener("click", () => this.startOver());
      this.setNotice(this.t.gone, again);
      this.isGone = true;
      this.ui.input.disabled = true;
      this.ui.send.disabled = true;
      this.hideTyping();
      if (this.hasAttribute("data-expanded")) again.focus();
    }

    startOver() {
      if (this.source) this.source.close();
      clearTimeout(this.retryTimer);
      this.source = null;
      this.conversation = null;
      this.outgoing = null;
      this.lastSeq = 0;
      this.held.clear();
      this.save({ id: null, token: null });
      this.setNotice("");
      this.showError("");
      this.setMode("bot");
      this.ui.quick.replaceChildren();
      this.hideTyping();
      this.isGone = false;
      this.ui.input.disabled = false;
      this.setBusy(false);
      this.showIntro();
      this.ui.input.focus();
    }

    // --- events

    receive(event) {
      if (typeof event.seq !== "number" || event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
      if (event.type === "message") this.showMessage(event);
      else if (event.type === "handoff_requested" || event.type === "waiting_for_agent") this.setMode("connecting");
      else if (event.type === "queue_position") this.showQueue(event);
      else if (event.type === "agent_joined") this.setMode("agent", event.agent && event.agent.name);
      else if (event.type === "message_queued") this.setHeld(event.message_id, true);
      else if (event.type === "message_delivered") this.setHeld(event.message_id, false);
      else if (["handoff_ended", "handoff_failed", "handoff_cancelled", "awaiting_email"].includes(event.type)) {
        this.setMode("bot");
      }
    }

    // LiveChat could not take a message (an outage): the bridge keeps it and sends it later. Until its
    // message_delivered arrives, the message looks and says it is not sent yet.
    setHeld(messageId, held) {
      if (typeof messageId !== "string") return;
      if (held) this.held.add(messageId);
      else this.held.delete(messageId);
      const item = Array.from(this.ui.log.children).find((li) => li.dataset.messageId === messageId);
      if (item) this.showHeld(item, held);
    }

    showHeld(item, held) {
      item.classList.toggle("held", held);
      const note = item.querySelector(".held-note");
      if (held && !note) item.append(el("span", "held-note", this.t.held));
      else if (!held && note) note.remove();
    }

    showQueue(event) {
      const minutes = typeof event.wait_seconds === "number" ? Math.max(1, Math.round(event.wait_seconds / 60)) : 0;
      this.ui.mode.textContent = this.t.inLine(event.position, minutes);
    }

    /** While connecting, the customer can stop waiting; the bridge closes the LiveChat chat. */
    stopWaitingButton() {
      const button = el("button", "", this.t.stopWaiting);
      button.type = "button";
      button.addEventListener("click", async () => {
        if (!this.conversation) return;
        const { id, token } = this.conversation;
        button.disabled = true;
        try {
          await fetch(this.api(`/${encodeURIComponent(id)}/cancel`), {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
          });
        } catch {
          button.disabled = false;
        }
      });
      return button;
    }

    showMessage(event) {
      const t = this.t;
      const log = this.ui.log;
      const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
      this.hideTyping();
      this.ui.quick.replaceChildren();
      const item = el("li", event.author);
      if (event.author === "system") {
        item.textContent = event.text;
      } else {
        const who = event.author === "agent" ? event.name || t.agent : event.author === "bot" ? t.bot : t.you;
        const previous = log.lastElementChild;
        const sameAuthor = previous && previous.dataset.who === `${event.author}:${who}`;
        item.dataset.who = `${event.author}:${who}`;
        item.append(el("span", event.author === "customer" || sameAuthor ? "sr" : "who", who), el("p", "bubble", event.text));
      }
      if (event.author === "customer" && typeof event.id === "string") {
        item.dataset.messageId = event.id;
        if (this.held.has(event.id)) this.showHeld(item, true);
      }
      log.append(item);
      if (event.author === "bot" && Array.isArray(event.quick_replies)) this.showQuickReplies(event.quick_replies);
      if (event.author === "customer" && this.getAttribute("data-mode") === "bot") this.showTyping();
      if (atEnd || event.author === "customer") this.scrollToEnd();
    }

    showQuickReplies(replies) {
      const buttons = replies.map((reply) => {
        const button = el("button", "", reply);
        button.type = "button";
        button.addEventListener("click", async () => {
          this.ui.input.focus();
          if (!(await this.send(reply))) this.ui.input.value = this.ui.input.value || reply;
        });
        return button;
      });
      this.ui.quick.replaceChildren(...buttons);
    }

    showTyping() {
      const item = el("li", "typing");
      item.setAttribute("aria-hidden", "true");
      const bubble = el("div", "bubble");
      bubble.append(el("span"), el("span"), el("span"));
      item.append(bubble);
      this.ui.log.append(item);
      this.typing = item;
      this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_MS);
    }

    hideTyping() {
      clearTimeout(this.typingTimer);
      if (this.typing) this.typing.remove();
      this.typing = null;
    }
  }

  customElements.define(TAG, LivehandoffChat);

  function mount() {
    if (!document.querySelector(TAG)) document.body.append(document.createElement(TAG));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
