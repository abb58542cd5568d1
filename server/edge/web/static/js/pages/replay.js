// The replay page: a recording list, or one recording played with its chapters, the training
// line, chat and stage changes in step. The <video> element is the clock and every other layer is
// a function of its time t (bbb-playback's model): seeking anywhere redraws each layer for t.
//
//   /replay#recording=ID&t=12m30s     (also t=750): that recording, at that instant
//   /replay#lesson=L                  the recordings of lesson L (the link of a lesson-scoped token)

import {formatDuration, language, onLanguageChange, register, t} from "../i18n.js";
import {renderLine} from "../line_diagram.js";
import {Api} from "../protocol.js";
import {chapterAt, countUpTo, fragmentFor, parseInstant, stateKey} from "../replay/moment.js";
import {chooseTracks, slave} from "../replay/player.js";
import {fragmentParams} from "../session.js";
import strings from "../strings/replay.js";
import {el, signIn, startPage} from "../ui.js";

register(strings);

const ROLES = ["student", "teacher", "classroom", "admin"];
const SPEEDS = [0.75, 1, 1.25, 1.5, 2];
const SKIP_S = 5;
const MAX_EVENTS_SHOWN = 300;
const $ = id => document.getElementById(id);

const {notices} = startPage("replay.title");
const video = $("video"), audio = $("audio");
let api = null;
let current = null;  // {recording, events, detach, line}

// --- the recording list ---------------------------------------------------------------------

async function showList() {
  $("player").hidden = true;
  $("list").hidden = false;
  const lesson = fragmentParams().get("lesson");
  const query = lesson ? `?lesson=${encodeURIComponent(lesson)}` : "";
  const {recordings} = await api.get(`/api/recordings${query}`);
  const render = () => $("recordings").replaceChildren(...(recordings.length ? recordings.map(listItem)
    : [el("li", {class: "muted"}, t("replay.list_empty"))]));
  onLanguageChange(render);
  render();
}

function listItem(recording) {
  return el("li", {},
    el("div", {}, el("p", {}, el("strong", {}, recording.title)), el("p", {class: "muted"}, describe(recording))),
    el("a", {class: "button", href: fragmentFor(location.hash, recording.id, null)}, t("replay.list_open")));
}

function describe(recording) {
  const date = new Date(recording.started_at * 1000).toLocaleString(language() === "zh" ? "zh-CN" : "en-GB",
    {dateStyle: "medium", timeStyle: "short"});
  return [t("replay.started", {date}),
    recording.duration_s === null ? null : t("replay.duration", {duration: formatDuration(recording.duration_s)}),
    t(`replay.status.${recording.status}`)].filter(Boolean).join(" · ");
}

// --- one recording ----------------------------------------------------------------------------

async function open(recordingId, startAt) {
  close();
  $("list").hidden = true;
  $("player").hidden = false;
  const recording = await api.get(`/api/recordings/${encodeURIComponent(recordingId)}`);
  const events = await timeline(recordingId);
  current = {recording, events, detach: null, line: {wanted: null, shown: null, busy: false, cache: new Map()},
    shownEvents: -1, shownChapter: null, startAt};
  renderHeading();
  renderChapters();
  play(recording, startAt);
}

function close() {
  if (current && current.detach) current.detach();
  current = null;
  video.removeAttribute("src");
  audio.removeAttribute("src");
  video.load();
}

async function timeline(recordingId) {
  const events = [];
  let from = 0;
  for (;;) {
    const page = await api.get(`/api/recordings/${encodeURIComponent(recordingId)}/timeline?from=${from}`);
    // from= is inclusive: events at the boundary come again and are skipped.
    const seen = new Set(events.filter(event => event.t === from).map(event => JSON.stringify(event)));
    const fresh = page.events.filter(event => !seen.has(JSON.stringify(event)));
    events.push(...fresh);
    if (!page.truncated || !page.events.length) return events;
    from = page.events[page.events.length - 1].t;
  }
}

function play(recording, startAt) {
  const {clock, audio: separate} = chooseTracks(recording.tracks);
  if (!clock) { notices.say("replay.no_media", {}, "warn"); return; }
  video.muted = false;
  video.src = clock.url;
  if (separate) {
    audio.src = separate.url;
    current.detach = slave(video, audio);
  }
  const download = $("download");
  download.hidden = !recording.download_url;
  if (recording.download_url) download.href = recording.download_url;
  video.addEventListener("loadedmetadata", () => {
    updateDuration();
    if (startAt !== null && startAt > 0) video.currentTime = Math.min(startAt, duration());
    redraw(true);
  }, {once: true});
}

function duration() {
  const known = current && current.recording.duration_s;
  if (typeof known === "number" && known > 0) return known;
  return Number.isFinite(video.duration) ? video.duration : 0;
}

function updateDuration() {
  $("seek").max = String(duration());
}

// --- every layer, a function of t ---------------------------------------------------------

function redraw(exact) {
  if (!current) return;
  const now = video.currentTime;
  $("seek").value = String(now);
  $("clock").textContent = `${formatDuration(now)} / ${formatDuration(duration())}`;
  $("play").textContent = t(video.paused ? "replay.play" : "replay.pause");
  markChapter(now);
  renderEvents(now);
  wantState(exact || video.paused ? now : stateKey(now));
}

function wantState(at) {
  const line = current.line;
  line.wanted = Math.min(at, duration() || at);
  pumpState(current);
}

async function pumpState(playing) {
  const line = playing.line;
  if (line.busy || line.wanted === null || line.wanted === line.shown) return;
  const at = line.wanted;
  line.busy = true;
  try {
    let answer = line.cache.get(at);
    if (!answer) {
      answer = await api.get(`/api/recordings/${encodeURIComponent(playing.recording.id)}/state?t=${at}`);
      line.cache.set(at, answer);
    }
    if (playing === current) showState(answer);
  } catch (error) {
    if (playing === current) notices.error(error);
  } finally {
    line.shown = at;
    line.busy = false;
  }
  if (playing === current && line.wanted !== line.shown) pumpState(playing);
}

function showState(answer) {
  const container = $("line");
  container.dataset.t = String(answer.t);
  container.dataset.revision = answer.revision === null ? "" : String(answer.revision);
  current.lastState = answer;
  renderLine(container, answer.state);
  $("line-caption").textContent = answer.state === null ? t("replay.line_empty")
    : t("replay.line_at", {time: formatDuration(answer.t), revision: answer.revision});
}

function renderHeading() {
  const {recording} = current;
  $("recording-title").textContent = recording.title;
  $("recording-meta").textContent = describe(recording);
  const back = new URLSearchParams(fragmentParams());
  back.delete("recording"); back.delete("t");
  $("back").href = `#${back.toString()}`;
}

function renderChapters() {
  const {chapters} = current.recording;
  $("chapters").replaceChildren(...(chapters.length ? chapters.map((chapter, index) => el("li", {},
    el("button", {type: "button", dataset: {index: String(index), at: String(chapter.at_s)},
      onclick: () => seek(chapter.at_s)},
    el("span", {class: "mono"}, formatDuration(chapter.at_s)), el("span", {}, chapter.title))))
    : [el("li", {class: "muted"}, t("replay.no_chapters"))]));
  current.shownChapter = null;
}

function markChapter(now) {
  const index = chapterAt(current.recording.chapters, now);
  if (index === current.shownChapter) return;
  current.shownChapter = index;
  for (const button of $("chapters").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(Number(button.dataset.index) === index));
  }
}

function renderEvents(now) {
  const count = countUpTo(current.events, now);
  if (count === current.shownEvents) return;
  current.shownEvents = count;
  const shown = current.events.slice(Math.max(0, count - MAX_EVENTS_SHOWN), count);
  const list = $("events");
  list.replaceChildren(...(shown.length ? shown.map(eventItem) : [el("li", {class: "muted"}, t("replay.no_events"))]));
  list.scrollTop = list.scrollHeight;
}

const EVENT_TEXT = {
  chat: e => t("replay.event.chat", {who: who(e.from), text: e.text}),
  join: e => t("replay.event.join", {who: e.subject || who(e)}),
  leave: e => t("replay.event.leave", {who: e.subject || who(e)}),
  stage: e => (e.on_stage && e.on_stage.length ? t("replay.event.stage", {who: e.on_stage.join("、")})
    : t("replay.event.stage_empty")),
  marker: e => t("replay.event.marker", {title: e.title || e.label || ""}),
  command: e => t("replay.event.command", {who: who(e.actor), what: commandText(e.command || {})}),
};

function who(participant) {
  return participant && participant.subject ? participant.subject : "?";
}

function commandText(command) {
  if (command.kind === "set_parameter") return `${command.station} ${command.name} = ${command.value}`;
  return [command.action || command.kind, command.station, command.code].filter(Boolean).join(" ");
}

function eventItem(event) {
  const render = EVENT_TEXT[event.kind];
  return el("li", {class: `kind-${event.kind}`, dataset: {kind: event.kind, t: String(event.t)}},
    el("span", {class: "mono"}, formatDuration(event.t)), el("span", {}, render ? render(event) : event.kind));
}

// --- controls -------------------------------------------------------------------------------

function seek(at) {
  if (!current) return;
  video.currentTime = Math.max(0, Math.min(at, duration()));
}

function togglePlay() {
  if (!current) return;
  if (video.paused) video.play().catch(error => notices.error(error)); else video.pause();
}

function keepLink() {
  if (!current) return;
  history.replaceState(null, "", location.pathname + location.search
    + fragmentFor(location.hash, current.recording.id, video.currentTime));
}

async function copyLink() {
  keepLink();
  try {
    await navigator.clipboard.writeText(location.href);
    notices.say("replay.copied", {time: formatDuration(video.currentTime)});
  } catch (_) {
    notices.say("replay.copy_failed", {}, "warn");
  }
}

function onKey(event) {
  if (!current || event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (target.closest("input, select, textarea, button, a")) return;
  const actions = {" ": togglePlay, ArrowLeft: () => seek(video.currentTime - SKIP_S),
    ArrowRight: () => seek(video.currentTime + SKIP_S), k: togglePlay};
  const action = actions[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

function mediaFailed() {
  if (!current || !video.getAttribute("src")) return;
  notices.say("replay.media_error", {}, "error");
}

function wireControls() {
  const speed = $("speed");
  speed.replaceChildren(...SPEEDS.map(rate => el("option", {value: String(rate), selected: rate === 1}, `${rate}×`)));
  speed.addEventListener("change", () => { video.playbackRate = Number(speed.value); });
  $("play").addEventListener("click", togglePlay);
  $("seek").addEventListener("input", () => seek(Number($("seek").value)));
  $("copy-link").addEventListener("click", copyLink);
  video.addEventListener("click", togglePlay);
  video.addEventListener("timeupdate", () => redraw(false));
  video.addEventListener("seeked", () => { redraw(true); keepLink(); });
  video.addEventListener("pause", () => { redraw(true); keepLink(); });
  video.addEventListener("play", () => redraw(false));
  video.addEventListener("durationchange", updateDuration);
  video.addEventListener("ratechange", () => { speed.value = String(video.playbackRate); });
  video.addEventListener("error", mediaFailed);
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
  onLanguageChange(() => {
    if (!current) return;
    renderHeading();
    renderChapters();
    current.shownEvents = -1;
    redraw(false);
    if (current.lastState) showState(current.lastState);
  });
}

// --- routing: the fragment names what to show -------------------------------------------------

async function route() {
  const params = fragmentParams();
  const recordingId = params.get("recording");
  const at = parseInstant(params.get("t"));
  try {
    if (!recordingId) { close(); await showList(); return; }
    if (current && current.recording.id === recordingId) {
      if (at !== null && Math.abs(at - video.currentTime) > 0.5) seek(at);
      return;
    }
    await open(recordingId, at);
  } catch (error) {
    notices.error(error);
  }
}

wireControls();
signIn("replay", ROLES).then(({token}) => {
  api = new Api(token);
  return route();
});
