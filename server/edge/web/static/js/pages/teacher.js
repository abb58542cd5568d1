// The teacher console: the lesson (from the link, or chosen and created here), camera and microphone,
// going live and ending, screen share, the classrooms with their link quality, hands and stage, chat,
// chapter markers, roll call, and the training-line panel (teacher_training.js).
// It renders; protocol.js speaks to the server.

import {formatDuration, formatTime, onLanguageChange, register, t} from "../i18n.js";
import {Api, ChannelMedia, LessonChannel, ProtocolError} from "../protocol.js";
import {fragmentParams} from "../session.js";
import strings from "../strings/teacher.js";
import {el, signIn, startPage} from "../ui.js";
import {TrainingPanel} from "./teacher_training.js";

register(strings);

const $ = id => document.getElementById(id);

// --- the lesson: from the link, or chosen / created -----------------------------------------

async function chooseLesson(api, notices) {
  $("lesson-picker").hidden = false;
  const list = $("lesson-list");
  const render = lessons => {
    const open = lessons.filter(lesson => lesson.state !== "ended");
    list.replaceChildren(...(open.length ? open.map(lesson => el("li", {},
      el("span", {class: "lesson-name"}, lesson.title),
      el("span", {class: `pill state-${lesson.state}`}, t(`lesson.state.${lesson.state}`)),
      el("button", {type: "button", onclick: () => openLesson(lesson.id)}, t("lesson.open"))))
      : [el("li", {class: "muted"}, t("lesson.none"))]));
  };
  let lessons = [];
  onLanguageChange(() => render(lessons));
  try {
    lessons = (await api.get("/api/lessons")).lessons;
  } catch (error) {
    notices.error(error);
  }
  render(lessons);
  $("lesson-form").addEventListener("submit", async event => {
    event.preventDefault();
    const body = {title: $("lesson-title").value.trim(), recording: $("lesson-recording").checked};
    const course = $("lesson-course").value.trim();
    if (course) body.course = course;
    try {
      openLesson((await api.post("/api/lessons", body)).id);
    } catch (error) {
      notices.error(error);
    }
  });
}

function openLesson(id) {
  location.hash = `lesson=${encodeURIComponent(id)}`;
  location.reload();
}

// --- camera, microphone, screen -----------------------------------------------------------

class LocalMedia {
  constructor(preview) {
    this.preview = preview;
    this.camera = null;
    this.mic = null;
    this.screen = null;
  }

  async open(cameraId, micId) {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: cameraId ? {deviceId: {exact: cameraId}} : {width: {ideal: 1280}, height: {ideal: 720}},
      audio: micId ? {deviceId: {exact: micId}} : true,
    });
    for (const track of [this.camera, this.mic]) if (track) track.stop();
    this.camera = stream.getVideoTracks()[0] || null;
    this.mic = stream.getAudioTracks()[0] || null;
    this.preview.srcObject = new MediaStream(this.camera ? [this.camera] : []);
    this.preview.play().catch(() => { /* muted preview: autoplay is allowed; a paused frame is harmless */ });
  }

  named() {
    return {camera: this.camera, mic: this.mic, screen: this.screen};
  }

  current(kind) {
    const track = kind === "videoinput" ? this.camera : this.mic;
    return track ? track.getSettings().deviceId : "";
  }
}

async function fillDevices(local) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, select] of [["videoinput", $("camera-select")], ["audioinput", $("mic-select")]]) {
    const found = devices.filter(device => device.kind === kind);
    select.replaceChildren(...(found.length ? found.map((device, index) => el("option", {value: device.deviceId},
      device.label || t("media.device", {n: index + 1}))) : [el("option", {value: ""}, t("media.no_device"))]));
    select.value = local.current(kind);
  }
}

// --- the console ---------------------------------------------------------------------------

class Console {
  constructor(api, lessonId, claims, notices) {
    this.api = api;
    this.lessonId = lessonId;
    this.claims = claims;
    this.notices = notices;
    this.participants = new Map();
    this.quality = new Map();
    this.stage = {capacity: 0, hands: [], on_stage: []};
    this.feeds = new Map();
    this.stageViews = new Map();
    this.live = false;
    this.ended = false;
    this.channel = new LessonChannel(lessonId, api.token);
    this.media = new ChannelMedia(this.channel, {api}); // ICE servers (TURN) from the server
    this.local = new LocalMedia($("preview"));
    this.training = new TrainingPanel($("training-body"), $("line-time"), this.channel,
      {notices, classrooms: () => this.classroomSubjects()});
  }

  async start() {
    $("console").hidden = false;
    await this.showLesson();
    this.listen();
    this.bindControls();
    onLanguageChange(() => this.renderAll());
    this.renderAll();
    this.channel.connect();
    this.openDevices();
  }

  async showLesson() {
    try {
      const lesson = await this.api.get(`/api/lessons/${encodeURIComponent(this.lessonId)}`);
      this.title = lesson.title;
      this.lessonState = lesson.state;
    } catch (error) {
      this.notices.error(error);
      this.title = this.lessonId;
      this.lessonState = "scheduled";
    }
    if (this.lessonState === "ended") this.endedHere();
  }

  async openDevices(cameraId, micId) {
    try {
      await this.local.open(cameraId, micId);
      await fillDevices(this.local);
      if (this.live) await this.media.publish(this.local.named());
    } catch (error) {
      this.notices.error({code: "media", message: t("media.blocked", {message: error.message || error.name})});
    }
  }

  // --- the channel's events ----------------------------------------------------------------

  listen() {
    const on = (type, handler) => this.channel.addEventListener(type, event => handler(event.detail));
    on("welcome", message => this.welcome(message));
    on("presence", ({event, participant}) => {
      if (event === "joined") this.participants.set(keyOf(participant), participant);
      else this.participants.delete(keyOf(participant));
      this.renderClassrooms();
      this.training.update();
    });
    on("stage", stage => { this.stage = stage; this.renderStage(); });
    on("chat", message => this.addChat(message));
    on("quality", ({participants}) => {
      this.quality = new Map(participants.map(row => [keyOf(row), row]));
      this.renderClassrooms();
    });
    on("recording.alarm", ({message}) => this.notices.say("recording.alarm", {message}, "warn"));
    on("lesson.ended", () => this.endedHere(false));
    on("error", error => this.notices.error(error));
    on("state", ({state, reason, attempt}) => this.linkState(state, reason, attempt));
    this.media.addEventListener("feeds", event => { this.feeds = event.detail.feeds; this.renderStage(); });
    this.media.addEventListener("error", event => this.notices.error(event.detail));
  }

  welcome(message) {
    this.participants = new Map(message.participants.filter(p => p.role !== "teacher").map(p => [keyOf(p), p]));
    this.stage = message.stage;
    if (!message.training) this.training.clear();
    this.renderAll();
  }

  linkState(state, reason, attempt) {
    const pill = $("link-state");
    pill.textContent = t(`link.${state === "idle" ? "connecting" : state}`, {attempt});
    pill.className = `pill link-${state}`;
    if (state === "closed" && reason && !this.ended) {
      if (reason === "conflict") this.endedHere();
      else this.notices.error(new ProtocolError(0, reason, ""));
    }
  }

  // The lesson ended (here, elsewhere, or before the page opened): stop media and the controls. The
  // server closes the channel itself after lesson.ended; closing it here as well is for the other cases.
  endedHere(closeChannel = true) {
    if (this.ended) return;
    this.ended = true;
    this.lessonState = "ended";
    this.live = false;
    this.media.close();
    if (closeChannel) this.channel.close();
    for (const track of Object.values(this.local.named())) if (track) track.stop();
    for (const button of document.querySelectorAll("#console button, #console input, #console select")) {
      if (button.id !== "other-lesson") button.disabled = true;
    }
    this.notices.say("lesson.ended", {}, "warn");
    this.renderLesson();
  }

  // --- controls ----------------------------------------------------------------------------

  bindControls() {
    $("camera-select").addEventListener("change", () => this.openDevices($("camera-select").value, $("mic-select").value));
    $("mic-select").addEventListener("change", () => this.openDevices($("camera-select").value, $("mic-select").value));
    $("go-live").addEventListener("click", () => this.toggleLive());
    $("share-screen").addEventListener("click", () => this.toggleShare());
    $("end-lesson").addEventListener("click", () => this.endLesson());
    $("other-lesson").addEventListener("click", () => { location.hash = ""; location.reload(); });
    $("chat-form").addEventListener("submit", event => this.submit(event, "chat-text", text =>
      this.channel.request("chat.send", {text})));
    $("marker-form").addEventListener("submit", event => this.submit(event, "marker-title", async title => {
      const reply = await this.channel.request("marker.add", {title});
      this.addMarker(title, reply.chapter_at_s);
    }));
    $("rollcall").addEventListener("click", () => this.rollCall());
    $("scenario-form").addEventListener("submit", event => this.submit(event, "scenario-select", async scenario => {
      const reply = await this.channel.request("training.load", {scenario});
      this.notices.say("training.loaded", {scenario: reply.scenario});
    }, false));
  }

  async submit(event, inputId, send, clear = true) {
    event.preventDefault();
    const input = $(inputId);
    const value = input.value.trim();
    if (!value) return;
    try {
      await send(value);
      if (clear) input.value = "";
    } catch (error) {
      this.notices.error(error);
    }
  }

  async toggleLive() {
    const button = $("go-live");
    button.disabled = true;
    try {
      if (this.live) await this.stopLive();
      else await this.goLive();
    } catch (error) {
      this.notices.error(error);
    } finally {
      button.disabled = this.ended;
      this.renderLesson();
    }
  }

  async goLive() {
    if (!this.local.camera && !this.local.mic) await this.local.open();
    await this.media.publish(this.local.named());
    this.live = true;
    this.lessonState = "live";
  }

  async stopLive() {
    for (const [feed, track] of Object.entries(this.local.named())) {
      if (track) await this.channel.request("publish.stop", {feed}).catch(() => {});
    }
    this.media.stopPublishing();
    this.live = false;
  }

  async toggleShare() {
    if (this.local.screen) { await this.stopShare(); return; }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({video: true, audio: false});
    } catch (error) {
      this.notices.error({code: "media", message: t("media.share_failed", {message: error.message || error.name})});
      return;
    }
    this.local.screen = stream.getVideoTracks()[0];
    this.local.screen.addEventListener("ended", () => this.stopShare());
    try {
      if (this.live) await this.media.publish(this.local.named());
    } catch (error) {
      this.notices.error(error);
    }
    this.renderLesson();
  }

  async stopShare() {
    const screen = this.local.screen;
    if (!screen) return;
    this.local.screen = null;
    screen.stop();
    if (this.live) await this.media.unpublish("screen").catch(error => this.notices.error(error));
    this.renderLesson();
  }

  async endLesson() {
    const button = $("end-lesson");
    if (!button.dataset.confirm) {
      button.dataset.confirm = "1";
      button.textContent = t("lesson.end_confirm");
      setTimeout(() => { delete button.dataset.confirm; button.textContent = t("lesson.end"); }, 5000);
      return;
    }
    try {
      await this.api.post(`/api/lessons/${encodeURIComponent(this.lessonId)}/end`);
      this.endedHere(false);
    } catch (error) {
      this.notices.error(error);
    }
  }

  async rollCall() {
    try {
      const result = await this.api.post(`/api/lessons/${encodeURIComponent(this.lessonId)}/rollcalls`);
      $("rollcall-result").textContent = t("rollcall.started", {count: result.classrooms_told,
        time: formatTime(result.answer_by)});
    } catch (error) {
      this.notices.error(error);
    }
  }

  async stageCommand(type, subject) {
    try {
      await this.channel.request(type, {subject});
    } catch (error) {
      this.notices.error(error);
    }
  }

  // --- rendering ---------------------------------------------------------------------------

  classroomSubjects() {
    return [...this.participants.values()].filter(p => p.role === "classroom").map(p => p.subject);
  }

  renderAll() {
    this.renderLesson();
    this.renderClassrooms();
    this.renderStage();
    if (!$("chat-log").children.length) $("chat-log").append(el("li", {class: "muted empty"}, t("chat.empty")));
    const empty = $("chat-log").querySelector(".empty");
    if (empty) empty.textContent = t("chat.empty");
    this.linkState(this.channel.state, "", this.channel.attempt);
  }

  renderLesson() {
    $("lesson-title-text").textContent = this.title || "";
    const state = $("lesson-state");
    state.textContent = t(`lesson.state.${this.lessonState}`);
    state.className = `pill state-${this.lessonState}`;
    $("go-live").textContent = t(this.live ? "media.stop_live" : "media.go_live");
    $("go-live").classList.toggle("primary", !this.live);
    $("go-live").setAttribute("aria-pressed", String(this.live));
    $("share-screen").textContent = t(this.local.screen ? "media.stop_share" : "media.share");
    $("share-screen").setAttribute("aria-pressed", String(Boolean(this.local.screen)));
  }

  renderClassrooms() {
    const rows = [...this.participants.values()].sort((a, b) => a.subject.localeCompare(b.subject));
    $("classrooms").replaceChildren(...(rows.length ? rows.map(p => this.classroomItem(p))
      : [el("li", {class: "muted"}, t("classrooms.none"))]));
  }

  classroomItem(participant) {
    const row = this.quality.get(keyOf(participant));
    const tone = qualityTone(row);
    return el("li", {class: "classroom", dataset: {subject: participant.subject}},
      el("div", {class: "who"}, el("b", {}, participant.subject),
        el("span", {class: "muted small"}, ` ${t(`role.${participant.role}`)} · ${participant.school}`)),
      el("div", {class: `quality tone-${tone}`, dataset: qualityData(row)},
        el("span", {class: "dot", "aria-hidden": "true"}),
        el("span", {class: "quality-label"}, `${t("classrooms.quality")}: ${t(`quality.${tone}`)}`),
        el("span", {class: "quality-figures small"}, qualityFigures(row))));
  }

  renderStage() {
    const {capacity, hands, on_stage: onStage} = this.stage;
    $("stage-capacity").textContent = capacity ? t("stage.capacity", {count: onStage.length, capacity}) : "";
    $("hands").replaceChildren(...(hands.length ? hands.map(subject => el("li", {dataset: {subject}},
      el("span", {class: "hand-name"}, subject),
      el("span", {class: "buttons"},
        el("button", {type: "button", class: "primary invite", onclick: () => this.stageCommand("stage.invite", subject),
          disabled: onStage.length >= capacity}, t("hands.invite")),
        el("button", {type: "button", onclick: () => this.stageCommand("hand.lower", subject)}, t("hands.lower")))))
      : [el("li", {class: "muted"}, t("hands.none"))]));
    this.renderStageFeeds(onStage);
  }

  renderStageFeeds(onStage) {
    for (const [subject, view] of this.stageViews) {
      if (!onStage.includes(subject)) { view.video.srcObject = null; this.stageViews.delete(subject); }
    }
    const figures = onStage.map(subject => this.stageView(subject));
    $("stage-feeds").replaceChildren(...(figures.length ? figures : [el("p", {class: "muted"}, t("stage.none"))]));
  }

  stageView(subject) {
    let view = this.stageViews.get(subject);
    if (!view) {
      const video = el("video", {autoplay: true, playsinline: true, class: "stage-video"});
      const caption = el("figcaption");
      const remove = el("button", {type: "button", class: "danger remove",
        onclick: () => this.stageCommand("stage.remove", subject)});
      view = {video, caption, remove, key: "", figure: el("figure", {class: "stage-view", dataset: {subject}},
        video, el("div", {class: "stage-caption"}, caption, remove))};
      this.stageViews.set(subject, view);
    }
    const tracks = ["camera", "mic"].map(name => this.feeds.get(`classroom:${subject}/${name}`)).filter(Boolean);
    const key = tracks.map(track => track.id).join(",");
    if (key !== view.key) {
      view.key = key;
      view.video.srcObject = tracks.length ? new MediaStream(tracks) : null;
      if (tracks.length) view.video.play().catch(() => { view.video.muted = true; view.video.play().catch(() => {}); });
    }
    view.video.setAttribute("aria-label", subject);
    view.caption.textContent = tracks.length ? subject : `${subject} — ${t("stage.connecting")}`;
    view.remove.textContent = t("stage.remove");
    return view.figure;
  }

  addChat(message) {
    const log = $("chat-log");
    const empty = log.querySelector(".empty");
    if (empty) empty.remove();
    const mine = message.from.subject === this.claims.subject && message.from.role === "teacher";
    log.append(el("li", {class: mine ? "mine" : ""},
      el("span", {class: "muted small"}, `${formatTime(message.at)} `),
      el("b", {}, message.from.subject), " ", el("span", {class: "chat-text"}, message.text)));
    log.scrollTop = log.scrollHeight;
  }

  addMarker(title, at) {
    const line = at === null || at === undefined ? t("markers.added_norec", {title})
      : t("markers.added", {title, at: formatDuration(at)});
    $("markers").append(el("li", {}, line));
  }
}

// --- link quality ------------------------------------------------------------------------------

function keyOf(participant) {
  return `${participant.role}/${participant.school}/${participant.subject}`;
}

function qualityTone(row) {
  if (!row || (row.loss === null && row.rtt_ms === null)) return "unknown";
  const loss = row.loss || 0, rtt = row.rtt_ms || 0;
  if (loss > 0.05 || rtt > 400) return "poor";
  if (loss > 0.01 || rtt > 150) return "fair";
  return "good";
}

function qualityData(row) {
  if (!row) return {};
  const data = {};
  for (const [field, value] of [["loss", row.loss], ["rtt", row.rtt_ms], ["down", row.receive_kbps],
    ["up", row.send_kbps]]) if (value !== null && value !== undefined) data[field] = String(value);
  return data;
}

function qualityFigures(row) {
  if (!row || (row.loss === null && row.rtt_ms === null && row.receive_kbps === null)) return t("quality.waiting");
  const dash = "—";
  const text = t("quality.figures", {
    loss: row.loss === null ? dash : `${(row.loss * 100).toFixed(1)}%`,
    rtt: row.rtt_ms === null ? dash : `${Math.round(row.rtt_ms)} ms`,
    down: row.receive_kbps === null ? dash : `${Math.round(row.receive_kbps)} kbit/s`,
  });
  return row.send_kbps === null || row.send_kbps === undefined ? text
    : text + t("quality.up", {up: `${Math.round(row.send_kbps)} kbit/s`});
}

// --- start ---------------------------------------------------------------------------------------

async function main() {
  const {notices} = startPage("teacher.title");
  const {token, claims} = await signIn("teacher", ["teacher"]);
  const api = new Api(token);
  const fromLink = fragmentParams().get("lesson") || (claims.lesson && claims.lesson !== "*" ? claims.lesson : null);
  if (!fromLink) {
    await chooseLesson(api, notices);
    return;
  }
  const teacherConsole = new Console(api, fromLink, claims, notices);
  window.teacherConsole = teacherConsole; // for a person debugging in DevTools
  await teacherConsole.start();
}

main();
