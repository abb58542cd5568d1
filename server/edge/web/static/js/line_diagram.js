// The training line as a live diagram, for every page that shows it (classroom screen, teacher
// console, replay). Two parts, both free of the protocol:
//
//   const line = new LineDocument();               // the state document and its revision
//   line.snapshot(message)                          // a training.snapshot (or {revision, state})
//   line.patch(message) -> "applied" | "stale" | "gap" | "empty"   // a training.patch
//   renderLine(svgOrContainer, line.state, {mine: "nujiang-1", scenario})   // draw it
//
// renderLine draws any state document of docs/scenarios.md (the `state` of training.snapshot, or
// GET /api/recordings/{id}/state): stations coloured by PackML state with their counters, who
// operates them and their active alarms, and the buffers between them with their counts. Without
// a scenario document the stations are laid out in document order (the scenario's file order) and
// the buffers, in link order, between consecutive stations when there is one per gap.

import {register, t} from "./i18n.js";

// --- the document and its revision ------------------------------------------------------------

function unescapePointer(token) {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

// Apply RFC 6902 add / remove / replace operations to doc (in place); returns doc.
export function applyOps(doc, ops) {
  for (const {op, path, value} of ops) {
    const keys = path.split("/").slice(1).map(unescapePointer);
    const leaf = keys.pop();
    let node = doc;
    for (const key of keys) {
      if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
      node = node[key];
    }
    if (op === "remove") delete node[leaf];
    else if (op === "add" || op === "replace") node[leaf] = value;
  }
  return doc;
}

// The client side of docs/protocol.md "The training line": a document and the revision it is at.
export class LineDocument {
  constructor() {
    this.clear();
  }

  clear() {
    this.scenario = null;
    this.revision = -1;
    this.time = 0;
    this.state = null;
  }

  get loaded() {
    return this.state !== null;
  }

  snapshot({scenario = null, revision, time = 0, state}) {
    this.scenario = scenario;
    this.revision = revision;
    this.time = time;
    this.state = structuredClone(state);
    return "applied";
  }

  // "gap": a batch was missed (send training.resync with this.revision); "stale": already applied.
  patch({from, to, time, ops}) {
    if (!this.loaded) return "empty";
    if (from > this.revision + 1) return "gap";
    if (to <= this.revision) return "stale";
    applyOps(this.state, ops);
    this.revision = to;
    if (typeof time === "number") this.time = time;
    return "applied";
  }
}

// --- text -------------------------------------------------------------------------------------

export const LINE_STRINGS = {
  zh: {
    "line.status.stopped": "已停止", "line.status.idle": "就绪", "line.status.execute": "运行中",
    "line.status.suspended": "等待物料", "line.status.held": "保持", "line.status.holding": "正在保持",
    "line.status.unholding": "恢复中", "line.status.aborted": "已急停", "line.status.aborting": "急停中",
    "line.status.resetting": "复位中", "line.status.starting": "启动中", "line.status.stopping": "停止中",
    "line.status.clearing": "清除中", "line.status.complete": "已完成",
    "line.counters": "良品 {good} · 废品 {scrap}",
    "line.operator": "操作：{who}", "line.operator_none": "操作：老师",
    "line.alarms": "报警 {codes}",
    "line.buffer": "{count} 件",
    "line.summary": "实训线：{stations}",
    "line.station_summary": "{name} {status}",
    "line.station.warehouse": "立体仓库", "line.station.lathe": "数控车床", "line.station.mill": "加工中心",
    "line.station.robot": "机器人", "line.station.press": "注塑机", "line.station.conveyor": "输送带",
    "line.station.vision": "视觉检测",
  },
  en: {
    "line.status.stopped": "Stopped", "line.status.idle": "Idle", "line.status.execute": "Running",
    "line.status.suspended": "Waiting for parts", "line.status.held": "Held", "line.status.holding": "Holding",
    "line.status.unholding": "Unholding", "line.status.aborted": "Aborted", "line.status.aborting": "Aborting",
    "line.status.resetting": "Resetting", "line.status.starting": "Starting", "line.status.stopping": "Stopping",
    "line.status.clearing": "Clearing", "line.status.complete": "Complete",
    "line.counters": "good {good} · scrap {scrap}",
    "line.operator": "By {who}", "line.operator_none": "By the teacher",
    "line.alarms": "Alarm {codes}",
    "line.buffer": "{count} parts",
    "line.summary": "Training line: {stations}",
    "line.station_summary": "{name} {status}",
    "line.station.warehouse": "Warehouse", "line.station.lathe": "CNC lathe", "line.station.mill": "CNC mill",
    "line.station.robot": "Robot arm", "line.station.press": "Moulding press", "line.station.conveyor": "Conveyor",
    "line.station.vision": "Vision check",
  },
};
register(LINE_STRINGS);

// A station's name for people: the scenario's, a known station's, or its id.
export function stationName(id, scenario = null) {
  const key = `line.station.${id}`;
  const known = t(key);
  if (known !== key) return known;
  const fromScenario = scenario && (scenario.stations || []).find(station => station.id === id);
  return (fromScenario && fromScenario.name) || id;
}

export function statusName(status) {
  const key = `line.status.${status}`;
  const name = t(key);
  return name === key ? String(status) : name;
}

export function activeAlarms(station) {
  return Object.entries(station.alarms || {}).filter(([, alarm]) => alarm.active).map(([code]) => code);
}

// --- drawing ----------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const BOX = {w: 160, h: 132, gap: 40, margin: 12, perRow: 7};
const ACTING = new Set(["resetting", "starting", "holding", "unholding", "stopping", "aborting", "clearing"]);
const COLOURS = {  // [fill, stroke] per PackML state: dark text stays readable on every fill
  execute: ["#d3f3da", "#1a7f37"], idle: ["#dbe9fb", "#0b5cad"], stopped: ["#eceff3", "#6e7781"],
  suspended: ["#fff1c7", "#9a6700"], held: ["#ffe3c4", "#b35900"], holding: ["#ffe3c4", "#b35900"],
  unholding: ["#ffe3c4", "#b35900"], aborted: ["#fddcdb", "#c62828"], aborting: ["#fddcdb", "#c62828"],
};
const ACTING_COLOURS = ["#e8f0fe", "#0b5cad"];

function node(tag, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

function colours(status) {
  return COLOURS[status] || (ACTING.has(status) ? ACTING_COLOURS : COLOURS.stopped);
}

// text cut to about `width` pixels at font size `size` (a CJK character is about 1 em, others about 0.58).
function fit(text, width, size) {
  let used = 0, out = "";
  for (const char of String(text)) {
    used += (/[\u2e80-\uffff]/.test(char) ? 1 : 0.58) * size;
    if (used > width) return `${out.slice(0, -1)}…`;
    out += char;
  }
  return out;
}

function layout(ids) {
  const at = new Map();
  ids.forEach((id, index) => {
    const row = Math.floor(index / BOX.perRow), column = index % BOX.perRow;
    at.set(id, {x: BOX.margin + column * (BOX.w + BOX.gap), y: BOX.margin + row * (BOX.h + BOX.gap + 20), row});
  });
  return at;
}

// Which two stations each buffer sits between: from the scenario's links, else in order.
function bufferPlaces(ids, bufferIds, scenario) {
  if (scenario && Array.isArray(scenario.links)) {
    return new Map(scenario.links.map(link => [link.id || `${link.from}_${link.to}`, [link.from, link.to]]));
  }
  if (bufferIds.length !== ids.length - 1) return new Map();
  return new Map(bufferIds.map((id, index) => [id, [ids[index], ids[index + 1]]]));
}

function drawStation(group, id, station, at, options) {
  const status = station.status || "stopped";
  const [fill, stroke] = colours(status);
  const mine = options.mine && station.assigned === options.mine;
  const alarms = activeAlarms(station);
  const name = stationName(id, options.scenario);
  const box = node("g", {class: `line-station status-${status}${mine ? " mine" : ""}`, "data-station": id,
    "data-status": status, transform: `translate(${at.x},${at.y})`});
  box.append(node("title", {}, `${name}: ${statusName(status)}`));
  if (mine) box.append(node("rect", {x: -5, y: -5, width: BOX.w + 10, height: BOX.h + 10, rx: 13, fill: "none",
    stroke: "#0b5cad", "stroke-width": 4, class: "line-mine"}));
  box.append(node("rect", {width: BOX.w, height: BOX.h, rx: 10, fill, stroke, "stroke-width": 2,
    "stroke-dasharray": ACTING.has(status) ? "7 4" : "none"}));
  const counters = station.counters || {};
  const lines = [
    [fit(name, BOX.w - 18, 17), 24, 17, 700, "#1d2433"],
    [statusName(status), 48, 16, 700, stroke === "#6e7781" ? "#3d4450" : darken(stroke)],
    [t("line.counters", {good: counters.good ?? 0, scrap: counters.scrap ?? 0}), 72, 13, 400, "#1d2433"],
    [fit(station.assigned ? t("line.operator", {who: station.assigned}) : t("line.operator_none"), BOX.w - 18, 13), 94, 13,
      mine ? 700 : 400, "#1d2433"],
  ];
  for (const [text, y, size, weight, colour] of lines) {
    box.append(node("text", {x: 10, y, "font-size": size, "font-weight": weight, fill: colour}, text));
  }
  if (alarms.length) {
    box.append(node("rect", {x: 4, y: BOX.h - 30, width: BOX.w - 8, height: 25, rx: 6, fill: "#c62828",
      class: "line-alarm"}));
    box.append(node("text", {x: 10, y: BOX.h - 12, "font-size": 13, "font-weight": 700, fill: "#ffffff"},
      fit(`⚠ ${t("line.alarms", {codes: alarms.join(" ")})}`, BOX.w - 18, 13)));
  }
  group.append(box);
}

function darken(stroke) {
  return {"#1a7f37": "#145c29", "#0b5cad": "#0a4f94", "#9a6700": "#6b4a00", "#b35900": "#7a3d00",
    "#c62828": "#a31f1f"}[stroke] || stroke;
}

function drawBuffer(group, id, count, from, to) {
  const sameRow = from.row === to.row && to.x > from.x;
  const x1 = sameRow ? from.x + BOX.w : from.x + BOX.w / 2, y1 = sameRow ? from.y + BOX.h / 2 : from.y + BOX.h;
  const x2 = sameRow ? to.x : to.x + BOX.w / 2, y2 = sameRow ? to.y + BOX.h / 2 : to.y;
  const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
  const buffer = node("g", {class: "line-buffer", "data-buffer": id, "data-count": count});
  buffer.append(node("title", {}, `${id}: ${t("line.buffer", {count})}`));
  buffer.append(node("line", {x1, y1, x2, y2, stroke: "#5b6578", "stroke-width": 2, "marker-end": "url(#line-arrow)"}));
  buffer.append(node("circle", {cx, cy, r: 16, fill: count > 0 ? "#0b5cad" : "#ffffff", stroke: "#0b5cad",
    "stroke-width": 2}));
  buffer.append(node("text", {x: cx, y: cy + 5, "text-anchor": "middle", "font-size": 15, "font-weight": 700,
    fill: count > 0 ? "#ffffff" : "#0b5cad"}, String(count)));
  group.append(buffer);
}

function drawLooseBuffers(group, buffers, y) {
  Object.entries(buffers).forEach(([id, count], index) => {
    const x = BOX.margin + index * 170;
    group.append(node("text", {x, y, "font-size": 14, fill: "#1d2433", class: "line-buffer", "data-buffer": id,
      "data-count": count}, `${fit(id, 120, 14)}: ${count}`));
  });
}

function svgOf(target) {
  if (target instanceof SVGSVGElement) return target;
  let svg = target.querySelector("svg.line-diagram-svg");
  if (!svg) {
    svg = node("svg", {class: "line-diagram-svg", role: "img"});
    target.replaceChildren(svg);
  }
  return svg;
}

// Draw state (a state document; null draws nothing) into an <svg>, or into a container (which
// gets one). options: mine (a classroom subject: its stations are outlined), scenario (the
// scenario document, for names and links). Returns the <svg>.
export function renderLine(target, state, options = {}) {
  const svg = svgOf(target);
  const stations = (state && state.stations) || {};
  const buffers = (state && state.buffers) || {};
  const ids = Object.keys(stations);
  const at = layout(ids);
  const rows = Math.max(1, Math.ceil(ids.length / BOX.perRow));
  const width = BOX.margin * 2 + Math.min(ids.length || 1, BOX.perRow) * (BOX.w + BOX.gap) - BOX.gap;
  const places = bufferPlaces(ids, Object.keys(buffers), options.scenario || null);
  const loose = Object.fromEntries(Object.entries(buffers).filter(([id]) => !places.has(id)));
  const height = BOX.margin * 2 + rows * (BOX.h + BOX.gap + 20) - BOX.gap - 20 + (Object.keys(loose).length ? 30 : 0);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.maxWidth = `${Math.round(width * 1.15)}px`;  // a short line is not blown up to the page's width
  svg.setAttribute("aria-label", t("line.summary", {stations: ids.map(id =>
    t("line.station_summary", {name: stationName(id, options.scenario), status: statusName(stations[id].status)}))
    .join("; ")}));
  const defs = node("defs");
  const marker = node("marker", {id: "line-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
    markerHeight: 7, orient: "auto"});
  marker.append(node("path", {d: "M0,0 L10,5 L0,10 z", fill: "#5b6578"}));
  defs.append(marker);
  const group = node("g");
  for (const [id, [from, to]] of places) {
    if (id in buffers && at.has(from) && at.has(to)) drawBuffer(group, id, buffers[id], at.get(from), at.get(to));
  }
  for (const id of ids) drawStation(group, id, stations[id], at.get(id), options);
  drawLooseBuffers(group, loose, height - BOX.margin);
  svg.replaceChildren(defs, group);
  return svg;
}
