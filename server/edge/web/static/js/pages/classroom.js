// The classroom screen: the big screen at the front of a remote classroom, often unattended, on a
// weak link. It joins the lesson as soon as it opens and shows the teacher (muted until someone
// turns the sound on), the classrooms on stage, the live training line with the controls of this
// classroom's stations, the rotating check-in code and the chat; it raises the hand, goes on stage
// when invited, and says plainly when the link is weak or lost while it reconnects by itself.

import {formatDuration, formatTime, onLanguageChange, register, t} from "../i18n.js";
import {LineDocument, activeAlarms, renderLine, stationName, statusName} from "../line_diagram.js";
import {Api, ChannelMedia, LessonChannel} from "../protocol.js";
import {fragmentParams} from "../session.js";
import strings from "../strings/classroom.js";
import {el, errorSentence, signIn, startPage, text} from "../ui.js";

register(strings);

const ACTIONS = ["reset", "start", "stop", "hold", "unhold", "abort", "clear"];
const STATS_EVERY_MS = 3000;
const WEAK_LOSS = 0.05; // more than 5 % of packets lost over the last interval
const RENDER_EVERY_MS = 100;
const CODE_REFRESH_S = [1, 10]; // bounds on the wait before fetching the next check-in code

const $ = id => document.getElementById(id);

// --- the link banner --------------------------------------------------------------------------

class LinkBanner {
  constructor(element) {
    this.element = element;
    this.channel = "connecting";
    this.attempt = 0;
    this.weak = false;
    this.final = null;
    onLanguageChange(() => this.render());
  }

  update(changes) {
    Object.assign(this, changes);
    this.render();
  }

  render() {
    const [tone, sentence] = this.sentence();
    this.element.hidden = !sentence;
    this.element.className = `link-banner ${tone}`;
    this.element.dataset.link = tone;
    this.element.textContent = sentence;
  }

  sentence() {
    if (this.final) return ["lost", this.final];
    if (this.channel === "reconnecting") return ["lost", t("link.lost", {attempt: this.attempt})];
    if (this.channel === "connecting") return ["info", t("link.connecting")];
    if (this.weak) return ["weak", t("link.weak")];
    return ["ok", ""];
  }
}

// --- media: the teacher, the stage, sound -----------------------------------------------------

class Screens {
  constructor(me) {
    this.me = me;
    this.soundOn = false;
    this.video = $("teacher-video");
    this.waiting = $("teacher-waiting");
    this.sound = $("sound");
    this.strip = $("on-stage");
    this.tiles = new Map(); // owner -> {tile, video, ids}
    this.local = null;
    this.sound.addEventListener("click", () => this.toggleSound());
    onLanguageChange(() => this.renderSound());
  }

  toggleSound() {
    this.soundOn = !this.soundOn;
    for (const video of this.remoteVideos()) {
      video.muted = !this.soundOn;
      video.play().catch(() => { /* played once media arrives */ });
    }
    this.renderSound();
  }

  renderSound() {
    const key = this.soundOn ? "classroom.sound_off" : "classroom.sound_on";
    this.sound.dataset.i18n = key;
    this.sound.textContent = t(key);
    this.sound.setAttribute("aria-pressed", String(this.soundOn));
  }

  remoteVideos() {
    return [this.video, ...[...this.tiles.values()].filter(tile => tile.remote).map(tile => tile.video)];
  }

  // feeds: Map(feed name -> track), e.g. "teacher/camera", "classroom:nujiang-2/mic".
  show(feeds) {
    const owners = new Map();
    for (const [feed, track] of feeds) {
      const owner = feed.slice(0, feed.lastIndexOf("/"));
      if (!owners.has(owner)) owners.set(owner, []);
      owners.get(owner).push(track);
    }
    const teacher = owners.get("teacher") || [];
    owners.delete("teacher");
    attach(this.video, teacher, !this.soundOn);
    const hasVideo = teacher.some(track => track.kind === "video");
    this.waiting.hidden = hasVideo;
    this.video.classList.toggle("live", hasVideo);
    this.showStage(owners);
  }

  showStage(owners) {
    for (const [owner, tile] of this.tiles) {
      if (tile.remote && !owners.has(owner)) { tile.element.remove(); this.tiles.delete(owner); }
    }
    for (const [owner, tracks] of owners) {
      const tile = this.tiles.get(owner) || this.tile(owner, owner.replace(/^classroom:/, ""), true);
      attach(tile.video, tracks, !this.soundOn);
    }
  }

  tile(owner, label, remote) {
    const video = el("video", {autoplay: true, playsinline: true, class: "stage-video"});
    video.muted = true;
    const caption = el("figcaption", {}, label);
    const element = el("figure", {class: `stage-tile${remote ? "" : " local"}`, role: "listitem"}, video, caption);
    this.strip.append(element);
    const tile = {element, video, caption, remote};
    this.tiles.set(owner, tile);
    return tile;
  }

  showLocal(stream) {
    if (this.tiles.has("local")) return;
    const tile = this.tile("local", t("classroom.you", {subject: this.me}), false);
    tile.video.srcObject = stream;
    tile.video.play().catch(() => { /* muted preview */ });
  }

  hideLocal() {
    const tile = this.tiles.get("local");
    if (tile) { tile.element.remove(); this.tiles.delete("local"); }
  }
}

// Show tracks in a video element, keeping its stream when the tracks are the same.
function attach(video, tracks, muted) {
  const current = video.srcObject ? video.srcObject.getTracks() : [];
  const same = current.length === tracks.length && tracks.every(track => current.includes(track));
  if (!same) video.srcObject = tracks.length ? new MediaStream(tracks) : null;
  video.muted = muted;
  if (tracks.length) video.play().catch(() => { /* autoplay waits for media */ });
}

// --- the stage: hand, invitation, publishing --------------------------------------------------

class StagePlace {
  constructor(channel, media, screens, me, say) {
    Object.assign(this, {channel, media, screens, me, say});
    this.stage = {hands: [], on_stage: []};
    this.stream = null;
    this.publishing = null;
    this.button = $("hand");
    this.status = $("stage-status");
    this.button.addEventListener("click", () => this.press());
    channel.addEventListener("stage", event => this.update(event.detail));
    channel.addEventListener("welcome", event => this.update(event.detail.stage));
    channel.addEventListener("stage.invited", () => this.invited());
    channel.addEventListener("state", event => { if (event.detail.state !== "open") this.dropped(); });
    onLanguageChange(() => this.render());
  }

  get onStage() { return this.stage.on_stage.includes(this.me); }
  get handUp() { return this.stage.hands.includes(this.me); }

  update(stage) {
    this.stage = {hands: stage.hands || [], on_stage: stage.on_stage || []};
    this.render();
    this.reconcile();
  }

  // Publish while on stage, stop when not: the stage the server announces decides.
  reconcile() {
    if (this.onStage && !this.stream && !this.publishing) this.goLive();
    else if (!this.onStage && this.stream) this.stop();
  }

  invited() {
    this.status.textContent = t("classroom.going_on_stage");
    if (!this.stream && !this.publishing) this.goLive();
  }

  async goLive() {
    this.publishing = (async () => {
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
        this.screens.showLocal(this.stream);
        const [camera] = this.stream.getVideoTracks(), [mic] = this.stream.getAudioTracks();
        await this.media.publish({camera, mic});
      } catch (error) {
        this.say(error && error.code ? errorSentence(error)
          : t("classroom.camera_failed", {message: error && error.message ? error.message : String(error)}));
        this.stop();
      } finally {
        this.publishing = null;
        this.render();
      }
    })();
    return this.publishing;
  }

  stop() {
    this.media.stopPublishing();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.screens.hideLocal();
    this.render();
  }

  // The link dropped: the server takes this classroom off the stage; publish again only if told.
  dropped() {
    if (this.stream) this.stop();
  }

  press() {
    const [type] = this.onStage ? ["stage.leave"] : this.handUp ? ["hand.lower"] : ["hand.raise"];
    this.channel.request(type).catch(error => this.say(errorSentence(error)));
  }

  render() {
    const key = this.onStage ? "classroom.stage_leave" : this.handUp ? "classroom.hand_lower" : "classroom.hand_raise";
    this.button.dataset.i18n = key;
    this.button.textContent = t(key);
    this.button.setAttribute("aria-pressed", String(this.handUp || this.onStage));
    this.status.textContent = this.onStage ? t("classroom.on_stage_now")
      : this.handUp ? t("classroom.hand_raised", {place: this.stage.hands.indexOf(this.me) + 1}) : "";
  }
}

// --- the training line ------------------------------------------------------------------------

class TrainingLine {
  constructor(channel, me) {
    this.channel = channel;
    this.me = me;
    this.line = new LineDocument();
    this.diagram = $("line-diagram");
    this.meta = $("line-meta");
    this.message = $("line-message");
    this.controls = $("station-controls");
    this.cards = new Map();
    this.renderTimer = null;
    channel.addEventListener("training.snapshot", event => { this.line.snapshot(event.detail); this.rebuild(); });
    channel.addEventListener("training.patch", event => this.patched(event.detail));
    channel.addEventListener("welcome", event => { if (!event.detail.training) { this.line.clear(); this.rebuild(); } });
    channel.addEventListener("reconnected", () => this.resync());
    onLanguageChange(() => this.rebuild());
    this.rebuild();
  }

  patched(message) {
    const result = this.line.patch(message);
    if (result === "gap") this.resync();
    else if (result === "applied") this.scheduleRender();
  }

  // The server answers with the missing batches or a snapshot (no reply of its own).
  resync() {
    if (!this.line.loaded) return;
    this.channel.send("training.resync", {revision: this.line.revision});  // answered by patches or a snapshot
  }

  scheduleRender() {
    if (this.renderTimer !== null) return;
    this.renderTimer = setTimeout(() => { this.renderTimer = null; this.render(); }, RENDER_EVERY_MS);
  }

  rebuild() {
    this.cards.clear();
    const stations = this.line.loaded ? this.line.state.stations || {} : {};
    this.controls.replaceChildren(...Object.keys(stations).map(id => this.card(id, stations[id])));
    this.render();
  }

  render() {
    if (!this.line.loaded) {
      this.diagram.replaceChildren(text("p", "classroom.line_none", {class: "muted line-none"}));
      this.meta.textContent = "";
      return;
    }
    renderLine(this.diagram, this.line.state, {mine: this.me});
    this.diagram.dataset.revision = String(this.line.revision);
    this.meta.textContent = t("classroom.line_meta", {revision: this.line.revision, time: formatDuration(this.line.time)});
    for (const [id, station] of Object.entries(this.line.state.stations || {})) this.updateCard(id, station);
  }

  card(id, station) {
    const name = stationName(id);
    const status = el("p", {class: "station-status"});
    const owner = el("p", {class: "station-owner"});
    const actions = ACTIONS.map(action => el("button", {type: "button", class: `action action-${action}`,
      dataset: {action}, onclick: () => this.command({kind: "station", station: id, action}, name)},
    t(`classroom.action.${action}`)));
    const alarms = el("div", {class: "station-alarms"});
    const parameters = Object.entries(station.parameters || {}).map(([param, value]) => this.parameter(id, name, param, value));
    const element = el("article", {class: "station-card", dataset: {station: id}, "aria-label": name},
      el("h4", {}, name), status, owner, el("div", {class: "station-actions"}, actions), alarms,
      parameters.length ? el("details", {class: "station-parameters"}, el("summary", {}, t("classroom.parameters")),
        ...parameters.map(p => p.element)) : null);
    this.cards.set(id, {element, status, owner, actions, alarms, parameters, alarmCodes: ""});
    return element;
  }

  parameter(id, name, param, value) {
    const inputId = `param-${id}-${param}`;
    if (typeof value === "boolean") {
      const input = el("input", {type: "checkbox", id: inputId});
      input.addEventListener("change", () => this.command({kind: "set_parameter", station: id, name: param,
        value: input.checked}, name));
      return {param, input, bool: true, element: el("div", {class: "parameter"}, input, el("label", {for: inputId}, param))};
    }
    const input = el("input", {type: "number", step: "any", id: inputId, class: "parameter-value"});
    const set = el("button", {type: "submit"}, t("classroom.set"));
    const form = el("form", {class: "parameter"}, el("label", {for: inputId}, param), input, set);
    form.addEventListener("submit", event => {
      event.preventDefault();
      this.command({kind: "set_parameter", station: id, name: param, value: Number(input.value)}, name);
    });
    return {param, input, set, bool: false, element: form};
  }

  updateCard(id, station) {
    const card = this.cards.get(id);
    if (!card) return;
    const mine = station.assigned === this.me;
    card.element.classList.toggle("mine", mine);
    card.element.style.order = mine ? "0" : "1"; // this classroom's stations first
    card.element.dataset.status = station.status;
    card.status.textContent = statusName(station.status);
    card.owner.textContent = mine ? t("classroom.yours") : t("classroom.not_yours");
    for (const button of card.actions) button.disabled = !mine;
    for (const p of card.parameters) this.updateParameter(p, station.parameters[p.param], mine);
    this.updateAlarms(card, id, station, mine);
  }

  updateParameter(p, value, mine) {
    p.input.disabled = !mine;
    if (p.set) p.set.disabled = !mine;
    if (p.bool) p.input.checked = Boolean(value);
    else if (document.activeElement !== p.input) p.input.value = String(value);
  }

  updateAlarms(card, id, station, mine) {
    const codes = activeAlarms(station);
    const key = `${codes.join(",")}|${mine}`;
    if (key === card.alarmCodes) return;
    card.alarmCodes = key;
    card.alarms.replaceChildren(...codes.map(code => el("button", {type: "button", class: "danger", disabled: !mine,
      onclick: () => this.command({kind: "acknowledge_alarm", station: id, code}, stationName(id))},
    t("classroom.acknowledge", {code}))));
  }

  async command(command, name) {
    try {
      await this.channel.request("training.command", {command});
      this.message.className = "line-message ok";
      this.message.textContent = t("classroom.accepted", {station: name});
    } catch (error) {
      this.message.className = "line-message refused";
      this.message.textContent = t("classroom.refused", {station: name, reason: errorSentence(error)});
    }
  }
}

// --- chat -------------------------------------------------------------------------------------

class Chat {
  constructor(channel, say) {
    this.channel = channel;
    this.say = say;
    this.log = $("chat-log");
    this.input = $("chat-input");
    $("chat-form").addEventListener("submit", event => { event.preventDefault(); this.send(); });
    channel.addEventListener("chat", event => this.add(event.detail));
    this.empty();
  }

  empty() {
    if (!this.log.children.length) this.log.append(text("li", "classroom.chat_empty", {class: "muted chat-empty"}));
  }

  add({from, text: body, at}) {
    for (const placeholder of this.log.querySelectorAll(".chat-empty")) placeholder.remove();
    const who = `${from.subject} · ${t(`role.${from.role}`)}`;
    this.log.append(el("li", {class: `chat-message role-${from.role}`},
      el("span", {class: "chat-from"}, who), el("time", {class: "chat-at"}, formatTime(at)),
      el("p", {class: "chat-text"}, body)));
    while (this.log.children.length > 200) this.log.firstElementChild.remove();
    this.log.scrollTop = this.log.scrollHeight;
  }

  async send() {
    const body = this.input.value.trim();
    if (!body) return;
    try {
      await this.channel.request("chat.send", {text: body});
      this.input.value = "";
    } catch (error) {
      this.say(errorSentence(error));
    }
  }
}

// --- the check-in code ------------------------------------------------------------------------

class CheckinCode {
  constructor(api, lessonId) {
    this.api = api;
    this.lessonPath = `/api/lessons/${encodeURIComponent(lessonId)}`;
    this.code = $("checkin-code");
    this.hint = $("checkin-hint");
    this.timer = null;
    this.shown = null;
    this.live = false;
    this.stopped = false;
    onLanguageChange(() => this.render());
  }

  // The code exists only while the lesson is live: ask for the lesson's state until it is.
  async refresh() {
    if (this.inflight || this.stopped) return;
    this.inflight = true;
    clearTimeout(this.timer);
    let wait = CODE_REFRESH_S[1];
    try {
      this.live = this.live || (await this.api.get(this.lessonPath)).state === "live";
      if (this.live) {
        const answer = await this.api.get(`${this.lessonPath}/checkin-code`);
        this.shown = {code: answer.code};
        wait = answer.refresh_at - Date.now() / 1000 + 0.5; // the clocks may differ: bounded below
      } else {
        this.shown = {waiting: true};
      }
    } catch (error) {
      this.shown = {error};
      if (error.code === "conflict") this.live = false;
    }
    this.inflight = false;
    this.render();
    const seconds = Math.min(CODE_REFRESH_S[1], Math.max(CODE_REFRESH_S[0], wait));
    if (!this.stopped) this.timer = setTimeout(() => this.refresh(), seconds * 1000);
  }

  // The teacher went live (her feeds appeared): no need to wait for the next poll.
  teacherLive() {
    if (!this.live) this.refresh();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  render() {
    const shown = this.shown;
    if (!shown) return;
    if (shown.code) {
      this.code.textContent = `${shown.code.slice(0, 3)} ${shown.code.slice(3)}`;
      this.code.setAttribute("aria-label", t("classroom.checkin_code_label", {code: shown.code.split("").join(" ")}));
      this.code.classList.remove("waiting");
      this.hint.textContent = t("classroom.checkin_hint");
      return;
    }
    this.code.textContent = "— — —";
    this.code.removeAttribute("aria-label");
    this.code.classList.add("waiting");
    this.hint.textContent = shown.waiting || shown.error.code === "conflict" ? t("classroom.checkin_waiting")
      : errorSentence(shown.error);
  }
}

// --- the page ---------------------------------------------------------------------------------

function lessonOf(claims) {
  const fromLink = fragmentParams().get("lesson");
  if (fromLink) return fromLink;
  return claims.lesson && claims.lesson !== "*" ? claims.lesson : null;
}

function watchLink(channel, media, banner, code) {
  channel.addEventListener("state", ({detail}) => {
    const final = detail.state === "closed" && detail.reason ? errorSentence({code: detail.reason, message: detail.detail})
      : null;
    banner.update({channel: detail.state, attempt: detail.attempt, final: banner.final || final});
    if (detail.state === "open") code.refresh();
  });
  channel.addEventListener("lesson.ended", () => {
    code.stop();
    banner.update({final: t("classroom.lesson_ended")});
    channel.close();
    media.close();
  });
  channel.addEventListener("error", ({detail}) => {
    if (detail.code === "replaced") banner.update({final: errorSentence(detail)});
  });
  media.addEventListener("connection", ({detail}) => {
    if (detail.which === "subscriber") banner.update({weak: ["disconnected", "failed"].includes(detail.state)});
  });
  watchQuality(media, banner);
}

// Weak link: packets lost on the incoming media over the last few seconds, or frames not arriving.
function watchQuality(media, banner) {
  let last = null;
  setInterval(async () => {
    const pc = media.subscriber;
    if (!pc || pc.connectionState !== "connected") { last = null; return; }
    let received = 0, lost = 0;
    (await pc.getStats()).forEach(report => {
      if (report.type === "inbound-rtp") { received += report.packetsReceived || 0; lost += report.packetsLost || 0; }
    });
    if (last) {
      const got = received - last.received, missed = lost - last.lost;
      banner.update({weak: got + missed > 0 && missed / (got + missed) > WEAK_LOSS});
    }
    last = {received, lost};
  }, STATS_EVERY_MS);
}

async function main() {
  const {notices} = startPage("classroom.title");
  const banner = new LinkBanner($("link-banner"));
  const {token, claims} = await signIn("classroom", ["classroom"]);
  const lessonId = lessonOf(claims);
  if (!lessonId) {
    banner.update({final: t("classroom.no_lesson")});
    return;
  }
  const say = sentence => notices.say("classroom.notice", {sentence}, "error");
  register({zh: {"classroom.notice": "{sentence}"}, en: {"classroom.notice": "{sentence}"}});
  const channel = new LessonChannel(lessonId, token);
  const api = new Api(token);
  const media = new ChannelMedia(channel, {api}); // ICE servers (TURN) from the server
  const screens = new Screens(claims.subject);
  const code = new CheckinCode(api, lessonId);
  media.addEventListener("feeds", event => {
    screens.show(event.detail.feeds);
    if ([...event.detail.feeds.keys()].some(feed => feed.startsWith("teacher/"))) code.teacherLive();
  });
  media.addEventListener("error", event => say(errorSentence(event.detail)));
  const stage = new StagePlace(channel, media, screens, claims.subject, say);
  const line = new TrainingLine(channel, claims.subject);
  new Chat(channel, say);
  watchLink(channel, media, banner, code);
  window.classroomScreen = {channel, media, line: line.line, stage}; // for tests and the curious
  channel.connect();
}

main();
