// The agent console of the LiveChat emulator. It reads and changes chats only through LiveChat's
// public APIs with the agent's PAT (Basic auth), and follows /console/events, the emulator's push
// channel, to know when to read again.
"use strict";

(() => {
  // What marks the bot transcript livehandoff sends: the custom_id of its events, TRANSCRIPT_ID in
  // src/livehandoff/integrations/livechat/translate.py ("livehandoff:transcript", ":<n>" for the parts of a long
  // one). Only that is trusted: a customer's message may begin with the heading, but its custom_id is the
  // message id the bridge gave it, so it is shown as the customer's message, whatever it says.
  const TRANSCRIPT_ID = /^livehandoff:transcript(?::\d+)?$/;
  const TRANSCRIPT_HEADING = "Conversation with the bot before the handoff";
  const TRANSCRIPT_LINE = /^(Customer|Bot|Agent|System)(?: \(([^)]*)\))?: /;
  const MAX_THREADS = 10;
  const STORAGE_KEY = "livechat-emulator-console";

  const $ = (id) => document.getElementById(id);
  const state = {
    credentials: null, me: null, chats: [], selected: null, groups: [], source: null, timer: 0, refreshing: false, again: false,
  };

  class ApiError extends Error {
    constructor(message, type, status) {
      super(message);
      this.type = type;
      this.status = status;
    }
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "class") node.className = value;
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  // --- the APIs

  async function call(api, method, body = {}) {
    const { accountId, pat } = state.credentials;
    let response;
    try {
      response = await fetch(`/v3.6/${api}/action/${method}`, {
        method: "POST",
        headers: { authorization: "Basic " + btoa(`${accountId}:${pat}`), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      throw new ApiError("The emulator cannot be reached.", "network", 0);
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      throw new ApiError(error.message || `The emulator answered ${response.status}.`, error.type, response.status);
    }
    return data;
  }

  const agentApi = (method, body) => call("agent", method, body);
  const configurationApi = (method, body) => call("configuration", method, body);

  // --- signing in and the push channel

  function readCredentials() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("account_id") && fragment.get("pat")) {
      history.replaceState(null, "", location.pathname + location.search);
      return { accountId: fragment.get("account_id"), pat: fragment.get("pat") };
    }
    try {
      return JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    } catch {
      return null;
    }
  }

  async function signIn(credentials) {
    state.credentials = credentials;
    $("signin-error").textContent = "";
    try {
      state.groups = await configurationApi("list_groups");
    } catch (error) {
      state.credentials = null;
      showSignIn(error.status === 401 ? "That Account ID and token do not match an agent." : error.message);
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
    $("signin").hidden = true;
    $("desk").hidden = false;
    $("me").hidden = false;
    renderGroups();
    follow();
  }

  function showSignIn(message = "") {
    $("desk").hidden = true;
    $("me").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message;
    $(message ? "pat" : "account-id").focus();
  }

  function signOut() {
    if (state.source) state.source.close();
    Object.assign(state, { credentials: null, me: null, chats: [], selected: null, source: null });
    sessionStorage.removeItem(STORAGE_KEY);
    $("connection").textContent = "";
    showSignIn();
  }

  function follow() {
    const { accountId, pat } = state.credentials;
    const query = new URLSearchParams({ account_id: accountId, pat });
    const source = new EventSource(`/console/events?${query}`);
    state.source = source;
    source.addEventListener("login", (event) => {
      state.me = JSON.parse(event.data).my_profile;
      $("connection").textContent = "";
      renderMe();
      refreshSoon();
    });
    source.addEventListener("changed", refreshSoon);
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        $("connection").textContent = "Live updates stopped. Reload the page to reconnect.";
      } else {
        $("connection").textContent = "Reconnecting…";
      }
    });
  }

  // Several notices often arrive together (an event, then a routing change): read once for all of them.
  function refreshSoon() {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, 40);
  }

  // One reading at a time, so an older answer never paints over a newer one.
  async function refresh() {
    if (state.refreshing) {
      state.again = true;
      return;
    }
    state.refreshing = true;
    try {
      do {
        state.again = false;
        await readEverything();
      } while (state.again);
    } finally {
      state.refreshing = false;
    }
  }

  async function readEverything() {
    try {
      const [listed, statuses] = await Promise.all([
        agentApi("list_chats", { limit: 100 }),
        agentApi("list_routing_statuses"),
      ]);
      state.chats = listed.chats_summary;
      const mine = statuses.find((status) => status.agent_id === state.me?.id);
      if (mine && state.me) state.me.routing_status = mine.status;
      renderMe();
      renderList();
      if (state.selected) await showChat(state.selected);
    } catch (error) {
      $("connection").textContent = error.message;
    }
  }

  // --- the agent and the chat list

  function renderMe() {
    if (!state.me) return;
    $("me-name").textContent = state.me.name;
    const accepting = state.me.routing_status === "accepting_chats";
    $("routing").setAttribute("aria-checked", String(accepting));
    $("routing").title = accepting ? "You are online: new chats are routed to you" : "New chats are not routed to you";
  }

  async function toggleRouting() {
    const accepting = $("routing").getAttribute("aria-checked") === "true";
    try {
      await agentApi("set_routing_status", { status: accepting ? "not_accepting_chats" : "accepting_chats" });
    } catch (error) {
      $("connection").textContent = error.message;
    }
  }

  function category(summary) {
    const thread = summary.last_thread_summary;
    if (!thread.active) return "closed";
    return thread.queue ? "queued" : "active";
  }

  function customerOf(users) {
    return users.find((user) => user.type === "customer") || {};
  }

  function displayName(customer) {
    return customer.name || customer.email || "Customer";
  }

  function isTranscript(event) {
    return event.type === "message" && TRANSCRIPT_ID.test(event.custom_id || "");
  }

  function preview(summary) {
    const last = summary.last_event_per_type.message?.event;
    if (!last) return "No messages yet";
    return isTranscript(last) ? "Bot transcript" : last.text;
  }

  function renderList() {
    const lists = { active: [], queued: [], closed: [] };
    for (const summary of state.chats) lists[category(summary)].push(chatItem(summary));
    for (const [name, items] of Object.entries(lists)) {
      $(`list-${name}`).replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "None")]));
      $(`count-${name}`).textContent = items.length ? String(items.length) : "";
    }
  }

  function chatItem(summary) {
    const customer = customerOf(summary.users);
    const agents = summary.users.filter((user) => user.type === "agent" && user.present).map((user) => user.name);
    const queue = summary.last_thread_summary.queue;
    const meta = queue ? `position ${queue.position} in the queue` : agents.length ? `with ${agents.join(", ")}` : "";
    const button = el(
      "button",
      { type: "button", class: "chat-item", "aria-current": summary.id === state.selected ? "true" : false },
      el("span", { class: "avatar", "aria-hidden": "true" }, initials(displayName(customer))),
      el("span", { class: "chat-text" },
        el("span", { class: "chat-name" }, displayName(customer)),
        el("span", { class: "chat-preview" }, preview(summary)),
        meta ? el("span", { class: "chat-meta" }, meta) : null),
    );
    button.addEventListener("click", () => select(summary.id));
    return el("li", {}, button);
  }

  function initials(name) {
    return name.split(/[\s@.]+/).filter(Boolean).slice(0, 2).map((part) => part[0].toUpperCase()).join("");
  }

  async function select(chatId) {
    state.selected = chatId;
    $("thread-error").textContent = "";
    renderList();
    await showChat(chatId);
    $($("reply").disabled || $("reply-form").hidden ? "events" : "reply").focus();
  }

  // --- one chat

  async function loadThreads(chatId) {
    const latest = await agentApi("get_chat", { chat_id: chatId });
    const threads = [latest.thread];
    while (threads.length < MAX_THREADS && threads[0].previous_thread_id) {
      const older = await agentApi("get_chat", { chat_id: chatId, thread_id: threads[0].previous_thread_id });
      threads.unshift(older.thread);
    }
    return { chat: latest, threads };
  }

  async function showChat(chatId) {
    let loaded;
    try {
      loaded = await loadThreads(chatId);
    } catch (error) {
      $("thread-error").textContent = `The chat could not be loaded: ${error.message}`;
      return;
    }
    if (state.selected !== chatId) return;
    const { chat, threads } = loaded;
    const customer = customerOf(chat.users);
    const thread = chat.thread;
    const present = chat.users.some((user) => user.id === state.me?.id && user.present);
    $("thread-title").textContent = displayName(customer);
    $("thread-sub").textContent = thread.active
      ? thread.queue ? "Waiting in the queue" : present ? "You are chatting with this customer" : "Another agent has this chat"
      : "This chat is closed";
    renderEvents(chat, threads);
    renderDetails(chat, customer);
    const canAct = thread.active && present;
    $("actions").hidden = !thread.active;
    for (const id of ["transfer", "close-chat", "transfer-group"]) $(id).disabled = !canAct;
    $("reply-form").hidden = !thread.active;
    $("reply").disabled = !canAct;
    $("reply-form").querySelector("button").disabled = !canAct;
    $("reply-note").textContent = canAct ? "" : "Only an agent in the chat can reply.";
  }

  function renderEvents(chat, threads) {
    const log = $("events");
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const users = new Map(chat.users.map((user) => [user.id, user]));
    const items = [];
    threads.forEach((thread, index) => {
      const started = `Thread ${index + 1} · started ${formatTime(thread.created_at)}${thread.active ? "" : " · closed"}`;
      items.push(el("li", { class: "divider" }, started));
      for (const event of thread.events) items.push(renderEvent(event, users));
    });
    log.replaceChildren(...items);
    if (nearBottom || log.dataset.chat !== chat.id) log.scrollTop = log.scrollHeight;
    log.dataset.chat = chat.id;
  }

  function renderEvent(event, users) {
    if (event.type === "system_message") return el("li", { class: "system" }, event.text);
    const author = users.get(event.author_id) || { type: "customer", name: "Customer" };
    const text = event.type === "message" ? event.text : `[${event.type.replace(/_/g, " ")}]`;
    if (author.type === "customer" && isTranscript(event)) return renderTranscript(text, event);
    const side = author.type === "agent" ? "agent" : "customer";
    const name = author.type === "agent" ? author.name : displayName(author);
    return el(
      "li",
      { class: `message ${side}` },
      el("span", { class: "who" }, `${name} · ${formatTime(event.created_at)}`),
      el("p", { class: "bubble" }, text),
    );
  }

  // A long transcript comes in several events; only the first starts with the heading.
  function renderTranscript(text, event) {
    const lines = text.split("\n");
    const heading = lines[0].startsWith(TRANSCRIPT_HEADING) ? lines.shift() : "";
    const entries = [];
    for (const line of lines) {
      const match = TRANSCRIPT_LINE.exec(line);
      if (match) {
        const who = match[2] ? `${match[1]} (${match[2]})` : match[1];
        entries.push(el("p", { class: `line ${match[1].toLowerCase()}` }, el("b", {}, who), " ", line.slice(match[0].length)));
      } else if (entries.length) {
        entries[entries.length - 1].append(el("br"), line);
      } else {
        entries.push(el("p", { class: "line" }, line)); // a line the previous part began
      }
    }
    const reason = /\(reason: ([^)]*)\)/.exec(heading);
    return el(
      "li",
      { class: "transcript", "aria-label": "Bot transcript" },
      el("p", { class: "transcript-title" }, heading ? "Bot transcript" : "Bot transcript (continued)",
        el("span", { class: "muted" }, ` · sent by livehandoff ${formatTime(event.created_at)}${reason ? ` · reason: ${reason[1]}` : ""}`)),
      ...entries,
    );
  }

  function renderDetails(chat, customer) {
    const rows = (pairs) => pairs.filter(([, value]) => value).flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]);
    $("customer").replaceChildren(...rows([["Name", customer.name], ["E-mail", customer.email], ["Customer id", customer.id]]));
    const fields = (customer.session_fields || []).flatMap((field) => Object.entries(field));
    $("session-fields").replaceChildren(...(fields.length ? rows(fields) : [el("dd", { class: "muted" }, "None")]));
    const groups = chat.access.group_ids.map((id) => state.groups.find((group) => group.id === id)?.name || `#${id}`);
    const agents = chat.users.filter((user) => user.type === "agent" && user.present).map((user) => user.name);
    $("chat-info").replaceChildren(...rows([
      ["Chat id", chat.id],
      ["Thread id", chat.thread.id],
      ["Group", groups.join(", ")],
      ["Agents", agents.join(", ") || "—"],
    ]));
  }

  function renderGroups() {
    $("transfer-group").replaceChildren(...state.groups.map((group) => el("option", { value: String(group.id) }, group.name)));
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // --- acting on the chat

  async function act(what, request) {
    $("thread-error").textContent = "";
    try {
      await request();
      return true;
    } catch (error) {
      $("thread-error").textContent = `${what} failed: ${error.message}`;
      return false;
    }
  }

  async function sendReply(event) {
    event.preventDefault();
    const input = $("reply");
    const text = input.value.trim();
    if (!text || !state.selected) return;
    const message = { type: "message", text, visibility: "all" };
    if (await act("Sending", () => agentApi("send_event", { chat_id: state.selected, event: message }))) {
      input.value = "";
    }
    input.focus();
  }

  function wire() {
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn({ accountId: $("account-id").value.trim(), pat: $("pat").value.trim() });
    });
    $("sign-out").addEventListener("click", signOut);
    $("routing").addEventListener("click", toggleRouting);
    $("reply-form").addEventListener("submit", sendReply);
    $("reply").addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
      event.preventDefault();
      $("reply-form").requestSubmit();
    });
    $("close-chat").addEventListener("click", () => act("Closing the chat", () => agentApi("deactivate_chat", { id: state.selected })));
    $("transfer").addEventListener("click", () => {
      const target = { type: "group", ids: [Number($("transfer-group").value)] };
      return act("Transferring", () => agentApi("transfer_chat", { id: state.selected, target }));
    });
  }

  wire();
  const credentials = readCredentials();
  if (credentials) signIn(credentials);
  else showSignIn();
})();
