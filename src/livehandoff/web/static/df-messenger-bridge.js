/*
 * livehandoff × Dialogflow Messenger.
 *
 * Dialogflow Messenger only shows what Dialogflow answers, so an agent's reply would wait for the
 * customer's next message. This script follows the conversation's event stream from the turn that handed
 * off and renders agent and livehandoff messages in the Messenger as they arrive. It tells the bridge what
 * it showed, so the next fulfillment answer does not repeat it.
 *
 *   <script src="https://bridge.example.com/static/df-messenger-bridge.js" defer></script>
 *
 * The bridge's origin must allow the page's origin (LIVEHANDOFF_ALLOWED_ORIGINS).
 */
(() => {
  "use strict";

  const SHOWN_AUTHORS = new Set(["agent", "system"]);
  let stream = null;

  function findHandoff(value) {
    if (!value || typeof value !== "object") return null;
    if (value.livehandoff && typeof value.livehandoff === "object" && value.livehandoff.events_url) {
      return value.livehandoff;
    }
    for (const child of Object.values(value)) {
      const found = findHandoff(child);
      if (found) return found;
    }
    return null;
  }

  function render(messenger, text) {
    if (typeof messenger.renderCustomText === "function") messenger.renderCustomText(text, true);
  }

  function follow(messenger, handoff) {
    if (stream) stream.close();
    const url = new URL(handoff.events_url);
    url.searchParams.set("token", handoff.token);
    url.searchParams.set("after", handoff.after || "0");
    const deliveredUrl = handoff.events_url.replace(/\/events$/, "/delivered");
    let backWithBot = false;
    stream = new EventSource(url.toString());
    stream.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "handoff_ended") backWithBot = true;
      if (event.type !== "message") return;
      if (event.author === "customer" && backWithBot) {
        stream.close(); // the bot has the conversation again; Dialogflow answers it directly
        return;
      }
      const shown = SHOWN_AUTHORS.has(event.author) || (backWithBot && event.author === "bot");
      if (!shown) return;
      const who = event.author === "agent" && event.name ? `${event.name}: ` : "";
      render(messenger, who + event.text);
      fetch(deliveredUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${handoff.token}` },
        body: JSON.stringify({ seq: event.seq }),
      }).catch(() => {});
    };
  }

  window.addEventListener("df-response-received", (event) => {
    const detail = event.detail || {};
    const handoff = findHandoff(detail.raw || detail.response || detail.data || detail);
    const messenger = event.target && event.target.renderCustomText ? event.target : document.querySelector("df-messenger");
    if (handoff && messenger) follow(messenger, handoff);
  });
})();
