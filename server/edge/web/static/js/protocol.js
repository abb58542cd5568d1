// The lesson protocol for every page: REST, the lesson WebSocket (with reconnect and catch-up),
// and media over it (the publisher and subscriber peer connections of docs/protocol.md), the way
// Galène's protocol.js serves its client. Pages only render what this module reports.
//
//   const api = new Api(token);                  await api.get("/api/lessons")
//   const channel = new LessonChannel(lessonId, token);
//   channel.addEventListener("chat", e => ...);  await channel.request("chat.send", {text})
//   channel.addEventListener("state", e => e.detail.state)   // connecting | open | reconnecting | closed
//   const media = new ChannelMedia(channel, {api});  media.addEventListener("feeds", e => e.detail.feeds)

// --- errors -----------------------------------------------------------------------------------

// A refusal from the server: status (HTTP, or 0 on the channel), code (`forbidden`, `unauthorized`,
// `invalid`, ...) and the server's message; pages turn the code into a sentence (i18n "error.<code>").
export class ProtocolError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

const STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
  413: "too_large", 415: "bad_request", 422: "invalid", 429: "rate_limited", 503: "unavailable"};

async function errorOf(response) {
  let code = STATUS_CODES[response.status] || "server_error", message = "";
  try {
    const body = await response.json();
    if (body && body.error) { code = body.error.code || code; message = body.error.message || ""; }
  } catch (_) { /* not JSON */ }
  return new ProtocolError(response.status, code, message);
}

// --- REST -------------------------------------------------------------------------------------

export class Api {
  constructor(token, base = location.origin) {
    this.token = token;
    this.base = base;
  }

  headers(extra = {}) {
    return {Authorization: `Bearer ${this.token}`, ...extra};
  }

  // JSON in and out; a non-2xx answer throws ProtocolError; a network failure throws ProtocolError(0, "offline").
  async request(method, path, {json, text, contentType, accept = "application/json", headers = {}} = {}) {
    const init = {method, headers: this.headers({Accept: accept, ...headers})};
    if (json !== undefined) { init.body = JSON.stringify(json); init.headers["Content-Type"] = "application/json"; }
    if (text !== undefined) { init.body = text; init.headers["Content-Type"] = contentType || "text/plain"; }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (error) {
      throw new ProtocolError(0, "offline", String(error));
    }
    if (!response.ok) throw await errorOf(response);
    if (response.status === 204) return null;
    const type = response.headers.get("Content-Type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  get(path, options) { return this.request("GET", path, options); }
  post(path, json, options = {}) { return this.request("POST", path, {...options, json}); }
  put(path, json, options = {}) { return this.request("PUT", path, {...options, json}); }

  // A file download that needs the token (CSV, xAPI, a recording): fetched, then saved by the browser.
  async download(path, filename) {
    let response;
    try { response = await fetch(this.base + path, {headers: this.headers()}); } catch (error) {
      throw new ProtocolError(0, "offline", String(error));
    }
    if (!response.ok) throw await errorOf(response);
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), {href: url, download: filename});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

// --- the lesson channel -----------------------------------------------------------------------

const SUBPROTOCOL = "classroom.v1";
const PING_EVERY_MS = 10_000;
const SILENT_FOR_MS = 25_000; // no frame this long: the link is dead even if TCP has not noticed
const REQUEST_TIMEOUT_MS = 15_000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10_000];
// Closes after which reconnecting cannot help: the page must say why and stop.
const FINAL_CLOSES = {4401: "unauthorized", 4403: "forbidden", 4404: "not_found", 4409: "conflict"};

// One WebSocket per page and lesson. Emits an event per server message type (detail: the
// message), "state" ({state, attempt, reason}) as the link changes, and "reconnected" after a
// reconnect (pages resync what they show: the server sends a fresh welcome, training resync).
export class LessonChannel extends EventTarget {
  constructor(lessonId, token, base = location.origin) {
    super();
    this.lessonId = lessonId;
    this.token = token;
    this.url = `${base.replace(/^http/, "ws")}/ws/lessons/${encodeURIComponent(lessonId)}`;
    this.state = "idle";
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.everOpen = false;
    this.lastFrameAt = 0;
    this.ws = null;
    this.timers = {};
  }

  connect() {
    if (this.state === "closed") return;
    this.setState(this.everOpen ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url, [SUBPROTOCOL, `bearer.${this.token}`]);
    } catch (error) {
      this.scheduleReconnect(String(error));
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.lastFrameAt = Date.now();
      const reconnected = this.everOpen;
      this.everOpen = true;
      this.attempt = 0;
      this.setState("open");
      this.startHeartbeat();
      if (reconnected) this.dispatchEvent(new CustomEvent("reconnected"));
    });
    ws.addEventListener("message", event => this.receive(event.data));
    ws.addEventListener("close", event => this.closed(ws, event.code, event.reason));
  }

  // Close for good (the page is leaving, or the lesson ended).
  close() {
    this.setState("closed");
    this.stopHeartbeat();
    clearTimeout(this.timers.reconnect);
    if (this.ws) this.ws.close(1000);
    this.failPending(new ProtocolError(0, "closed", "the page closed the channel"));
  }

  // Send a request and wait for its reply: resolves with the reply, rejects with ProtocolError.
  request(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ProtocolError(0, "offline", "the lesson channel is not connected"));
    }
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(0, "timeout", `no reply to ${type}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {resolve, reject, timer});
      this.ws.send(JSON.stringify({...fields, type, id}));
    });
  }

  // Send a message that is answered by broadcasts rather than a reply (training.resync): no id,
  // nothing to wait for. False when the channel is not connected.
  send(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({...fields, type}));
    return true;
  }

  receive(data) {
    this.lastFrameAt = Date.now();
    let message;
    try { message = JSON.parse(data); } catch (_) { return; }
    if (!message || typeof message.type !== "string") return;
    const waiting = message.id !== undefined ? this.pending.get(message.id) : undefined;
    if (waiting) {
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.type === "error") waiting.reject(new ProtocolError(0, message.code, message.message));
      else waiting.resolve(message);
      return;
    }
    this.dispatchEvent(new CustomEvent(message.type, {detail: message}));
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.stopHeartbeat();
    this.failPending(new ProtocolError(0, "offline", "the lesson channel closed"));
    if (this.state === "closed") return;
    const final = FINAL_CLOSES[code];
    if (final) {
      this.setState("closed", final, reason);
      return;
    }
    this.scheduleReconnect(reason || `close ${code}`);
  }

  scheduleReconnect(reason) {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.setState("reconnecting", reason);
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => this.connect(), delay * (0.75 + Math.random() / 2));
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.timers.ping = setInterval(() => {
      if (Date.now() - this.lastFrameAt <= SILENT_FOR_MS) {
        this.request("ping").catch(() => { /* the silence check decides */ });
        return;
      }
      const ws = this.ws; // silent too long: drop it (its close event is then ignored) and reconnect
      this.ws = null;
      this.stopHeartbeat();
      this.failPending(new ProtocolError(0, "offline", "no answer from the server"));
      try { ws.close(4000, "silent"); } catch (_) { /* already closing */ }
      this.scheduleReconnect("no answer from the server");
    }, PING_EVERY_MS);
  }

  stopHeartbeat() {
    clearInterval(this.timers.ping);
  }

  failPending(error) {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
      this.pending.delete(id);
    }
  }

  setState(state, reason = "", detail = "") {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", {detail: {state, reason, detail, attempt: this.attempt}}));
  }
}

// --- media over the channel -------------------------------------------------------------------

function iceGathered(pc, timeoutMs = 3000) {
  // The server (aiortc) takes no trickled candidates: send descriptions with all of them.
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise(resolve => {
    const done = () => { clearTimeout(timer); pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

// The subscriber connection (the server offers, this page answers) and the publisher connection
// (this page offers). Emits "feeds" ({feeds: Map(feedName -> MediaStreamTrack)}) whenever the set
// of live remote feeds changes, and "connection" ({which, state}) as each peer connection changes.
// ICE servers come from the server (GET /api/ice-servers) when an Api is given: TURN entries carry a
// credential issued for this token, valid until `expires_at`; they are fetched again on every channel
// reconnect and whenever a connection is (re)negotiated within REFRESH_MARGIN_S of that expiry.
const REFRESH_MARGIN_S = 600;

export class ChannelMedia extends EventTarget {
  constructor(channel, {iceServers = [], api = null} = {}) {
    super();
    this.channel = channel;
    this.iceServers = iceServers;
    this.api = api;
    this.iceExpiresAt = null; // unix seconds; null: not fetched (or nothing expires)
    this.iceFetched = false;
    this.icePending = null;
    this.subscriber = null;
    this.publisher = null;
    this.trackByMid = new Map();
    this.feedByMid = new Map();
    this.published = null; // {stream, feeds: {kind-or-name}} to publish again after a reconnect
    channel.addEventListener("subscribe.offer", event => this.answer(event.detail).catch(error => this.failed(error)));
    channel.addEventListener("tracks", event => this.assign(event.detail.tracks));
    channel.addEventListener("reconnected", () => { this.iceFetched = false; this.rejoin(); });
  }

  // Fresh ICE servers when none were fetched yet or the TURN credential is about to expire; the
  // open connections take them too (used by their next ICE restart). A failure keeps the old ones.
  // Concurrent callers share one request, and resume in the order they called.
  refreshIceServers() {
    if (!this.api) return Promise.resolve();
    const expiring = this.iceExpiresAt !== null && this.iceExpiresAt - Date.now() / 1000 < REFRESH_MARGIN_S;
    if (this.iceFetched && !expiring) return Promise.resolve();
    if (!this.icePending) {
      this.icePending = this.api.get("/api/ice-servers").then(reply => this.useIceServers(reply), error => this.failed(error))
        .finally(() => { this.icePending = null; });
    }
    return this.icePending;
  }

  useIceServers({ice_servers, expires_at}) {
    this.iceServers = ice_servers;
    this.iceExpiresAt = expires_at;
    this.iceFetched = true;
    for (const pc of [this.subscriber, this.publisher]) {
      if (!pc || pc.signalingState === "closed") continue;
      try { pc.setConfiguration({...pc.getConfiguration(), iceServers: ice_servers}); } catch (error) { this.failed(error); }
    }
  }

  failed(error) {
    this.dispatchEvent(new CustomEvent("error", {detail: error}));
  }

  newConnection(which) {
    const pc = new RTCPeerConnection({iceServers: this.iceServers});
    pc.addEventListener("connectionstatechange", () => {
      this.dispatchEvent(new CustomEvent("connection", {detail: {which, state: pc.connectionState}}));
      if (pc.connectionState === "failed" && which === "subscriber" && this.channel.state === "open") {
        this.channel.request("subscribe.restart").catch(() => { /* the channel reconnect recovers it */ });
      }
    });
    return pc;
  }

  async answer({sdp, tracks}) {
    await this.refreshIceServers();
    if (!this.subscriber) {
      this.subscriber = this.newConnection("subscriber");
      this.subscriber.addEventListener("track", event => {
        this.trackByMid.set(event.transceiver.mid, event.track);
        this.emitFeeds();
      });
    }
    const pc = this.subscriber;
    await pc.setRemoteDescription({type: "offer", sdp});
    await pc.setLocalDescription(await pc.createAnswer());
    await iceGathered(pc);
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.mid !== null && transceiver.receiver.track) this.trackByMid.set(transceiver.mid, transceiver.receiver.track);
    }
    this.assign(tracks);
    await this.channel.request("subscribe.answer", {sdp: pc.localDescription.sdp});
  }

  assign(tracks) {
    this.feedByMid = new Map(Object.entries(tracks || {}).filter(([, feed]) => feed));
    this.emitFeeds();
  }

  feeds() {
    const feeds = new Map();
    for (const [mid, feed] of this.feedByMid) {
      const track = this.trackByMid.get(mid);
      if (track) feeds.set(feed, track);
    }
    return feeds;
  }

  emitFeeds() {
    this.dispatchEvent(new CustomEvent("feeds", {detail: {feeds: this.feeds()}}));
  }

  // Publish tracks as feeds: {camera: videoTrack, mic: audioTrack, screen: screenTrack}.
  async publish(named) {
    this.published = named;
    const restart = this.publisher !== null;
    await this.refreshIceServers();
    if (this.publisher) this.publisher.close();
    const pc = this.publisher = this.newConnection("publisher");
    const feeds = {};
    const order = Object.entries(named).filter(([, track]) => track);
    for (const [name, track] of order) pc.addTransceiver(track, {direction: "sendonly"});
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    pc.getTransceivers().forEach((transceiver, index) => { feeds[transceiver.mid] = order[index][0]; });
    const reply = await this.channel.request("publish.offer", {sdp: pc.localDescription.sdp, feeds, restart});
    await pc.setRemoteDescription({type: "answer", sdp: reply.sdp});
    return pc;
  }

  async unpublish(feed) {
    if (this.published) delete this.published[feed];
    await this.channel.request("publish.stop", {feed});
  }

  stopPublishing() {
    this.published = null;
    if (this.publisher) this.publisher.close();
    this.publisher = null;
  }

  // After the channel reconnects the server has a new participant: new connections for both.
  async rejoin() {
    if (this.subscriber) this.subscriber.close();
    this.subscriber = null;
    this.trackByMid.clear();
    this.feedByMid.clear();
    this.emitFeeds();
    if (this.published) {
      const named = this.published;
      if (this.publisher) this.publisher.close();
      this.publisher = null;
      try { await this.publish(named); } catch (error) { this.failed(error); }
    }
  }

  close() {
    for (const pc of [this.subscriber, this.publisher]) if (pc) pc.close();
    this.subscriber = this.publisher = null;
  }
}
