// The teacher's training-line panel: the line as a table of stations (state, who operates it,
// parameters, output, alarms) with its commands (docs/scenarios.md), kept in step with the
// lesson channel's training.snapshot / training.patch (docs/protocol.md "The training line").

import {onLanguageChange, t, formatDuration} from "../i18n.js";
import {LineDocument, stationName} from "../line_diagram.js";
import {el} from "../ui.js";

const ACTIONS = ["reset", "start", "hold", "unhold", "stop", "abort", "clear"];
// PackML: the states in which each action is legal (docs/scenarios.md).
const LEGAL = {
  reset: ["stopped"], start: ["idle"], hold: ["execute", "suspended"], unhold: ["held"],
  stop: ["idle", "starting", "execute", "suspended", "holding", "held", "unholding", "resetting"],
  abort: ["stopped", "idle", "starting", "execute", "suspended", "holding", "held", "unholding", "stopping",
    "resetting"],
  clear: ["aborted"],
};
// The step towards running for "start line", and the line-wide hold and stop.
const TOWARDS_RUNNING = {stopped: "reset", idle: "start", held: "unhold", aborted: "clear"};
const TONE = {execute: "ok", suspended: "warn", held: "warn", holding: "warn", aborted: "bad", aborting: "bad",
  stopped: "idle", idle: "idle"};

export class TrainingPanel {
  constructor(container, timeLabel, channel, {notices, classrooms}) {
    this.container = container;
    this.timeLabel = timeLabel;
    this.channel = channel;
    this.notices = notices;
    this.classrooms = classrooms; // () => [subjects present]
    this.line = new LineDocument(); // the state document, its revision and line time
    this.rows = new Map();
    this.frame = 0;
    channel.addEventListener("training.snapshot", event => this.snapshot(event.detail));
    channel.addEventListener("training.patch", event => this.patch(event.detail));
    channel.addEventListener("reconnected", () => this.resync());
    onLanguageChange(() => this.rebuild());
    this.rebuild();
  }

  // --- protocol ---------------------------------------------------------------------------

  get doc() {
    return this.line.state;
  }

  snapshot(message) {
    this.line.snapshot(message);
    this.rebuild();
  }

  patch(message) {
    const result = this.line.patch(message);
    if (result === "gap") this.resync();
    else if (result === "applied") this.schedule();
  }

  // The server answers with the missing batches or a snapshot (no reply of its own).
  resync() {
    if (this.line.loaded) this.channel.send("training.resync", {revision: this.line.revision});
  }

  // Called when the lesson has no line (a welcome without training).
  clear() {
    this.line.clear();
    this.rebuild();
  }

  async command(command) {
    try {
      await this.channel.request("training.command", {command});
      return null;
    } catch (error) {
      this.notices.error(error);
      return error;
    }
  }

  // --- rendering --------------------------------------------------------------------------

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.update(); });
  }

  stations() {
    return Object.entries((this.doc && this.doc.stations) || {});
  }

  rebuild() {
    this.rows.clear();
    if (!this.doc) {
      this.timeLabel.textContent = "";
      this.container.replaceChildren(el("p", {class: "muted"}, t("training.none")));
      return;
    }
    const body = el("tbody");
    for (const [id] of this.stations()) {
      const row = this.row(id);
      this.rows.set(id, row);
      body.append(row.tr);
    }
    const table = el("table", {class: "stations"},
      el("caption", {class: "visually-hidden"}, t("training.heading")),
      el("thead", {}, el("tr", {}, ...["station", "status", "assigned", "parameters", "counters", "alarms", "actions"]
        .map(key => el("th", {scope: "col"}, t(`training.${key}`))))),
      body);
    this.alarmList = el("ul", {class: "alarm-list", id: "active-alarms"});
    this.bufferList = el("p", {class: "buffers muted small"});
    this.container.replaceChildren(
      el("div", {class: "line-controls"},
        ...[["start", "line_start"], ["hold", "line_hold"], ["stop", "line_stop"]].map(([kind, key]) =>
          el("button", {type: "button", class: kind === "start" ? "primary" : kind === "stop" ? "danger" : "",
            id: `line-${kind}`, onclick: () => this.lineCommand(kind)}, t(`training.${key}`)))),
      el("div", {class: "alarms-box", role: "region", "aria-label": t("training.active_alarms")},
        el("h3", {}, t("training.active_alarms")), this.alarmList),
      el("div", {class: "table-scroll"}, table),
      this.bufferList);
    this.update();
  }

  row(id) {
    const name = stationName(id);
    const assign = el("select", {"aria-label": t("training.assign_label", {station: name}), class: "assign",
      dataset: {station: id}});
    assign.addEventListener("change", () => this.command({kind: "assign_station", station: id,
      classroom: assign.value || null}));
    const fault = el("select", {"aria-label": t("training.fault_label", {station: name}), class: "fault-code"});
    const buttons = ACTIONS.map(action => el("button", {type: "button", class: "small-button", dataset: {action},
      onclick: () => this.command({kind: "station", station: id, action})}, t(`action.${action}`)));
    const cells = {
      status: el("span", {class: "status"}), params: el("ul", {class: "params"}), counters: el("span"),
      alarms: el("div", {class: "station-alarms"}),
    };
    const tr = el("tr", {dataset: {station: id}},
      el("th", {scope: "row"}, el("span", {class: "station-name"}, name), el("span", {class: "muted small mono"}, id)),
      el("td", {}, cells.status),
      el("td", {}, assign),
      el("td", {}, cells.params),
      el("td", {}, cells.counters),
      el("td", {}, cells.alarms,
        el("div", {class: "fault"}, fault, el("button", {type: "button", class: "small-button", dataset: {action: "fault"},
          onclick: () => fault.value && this.command({kind: "inject_fault", station: id, code: fault.value})},
        t("training.fault")))),
      el("td", {class: "actions"}, el("div", {class: "action-buttons"}, ...buttons)));
    return {tr, assign, fault, buttons, cells, alarmKey: "", assignKey: "", faultKey: ""};
  }

  update() {
    if (!this.doc) return;
    this.timeLabel.textContent = t("training.time", {time: formatDuration(this.line.time)});
    for (const [id, station] of this.stations()) {
      const row = this.rows.get(id);
      if (row) this.updateRow(id, row, station);
    }
    this.updateAlarms();
    const buffers = Object.entries(this.doc.buffers || {}).map(([link, count]) => `${link}: ${count}`);
    this.bufferList.textContent = buffers.length ? `${t("training.buffers")} — ${buffers.join(" · ")}` : "";
  }

  updateRow(id, row, station) {
    const status = station.status;
    row.cells.status.textContent = t(`status.${status}`);
    row.cells.status.className = `status pill tone-${TONE[status] || "busy"}`;
    row.cells.params.replaceChildren(...Object.entries(station.parameters || {}).map(([name, value]) =>
      el("li", {}, `${name}: `, el("b", {}, formatValue(value)))));
    const counters = station.counters || {};
    row.cells.counters.textContent = t("training.counters_value", {good: counters.good ?? 0, scrap: counters.scrap ?? 0});
    for (const button of row.buttons) button.disabled = !LEGAL[button.dataset.action].includes(status);
    this.updateAssign(row, station.assigned ?? null);
    this.updateStationAlarms(id, row, station.alarms || {});
  }

  updateAssign(row, assigned) {
    const options = [...new Set([...this.classrooms(), ...(assigned ? [assigned] : [])])].sort();
    const key = `${options.join(",")}|${assigned}`;
    if (key === row.assignKey) return;
    row.assignKey = key;
    row.assign.replaceChildren(el("option", {value: ""}, t("training.teacher")),
      ...options.map(subject => el("option", {value: subject}, subject)));
    row.assign.value = assigned || "";
  }

  updateStationAlarms(id, row, alarms) {
    const codes = Object.keys(alarms);
    const faultKey = codes.join(",");
    if (faultKey !== row.faultKey) {
      row.faultKey = faultKey;
      row.fault.replaceChildren(...codes.map(code => el("option", {value: code}, code)));
    }
    const active = codes.filter(code => alarms[code].active || !alarms[code].acknowledged);
    const key = active.map(code => `${code}:${alarms[code].active}:${alarms[code].acknowledged}`).join(",");
    if (key === row.alarmKey) return;
    row.alarmKey = key;
    row.cells.alarms.replaceChildren(...(active.length ? active.map(code => el("div", {class: "alarm"},
      el("span", {class: "alarm-code"}, code),
      alarms[code].acknowledged ? null : el("button", {type: "button", class: "small-button",
        onclick: () => this.command({kind: "acknowledge_alarm", station: id, code})},
      t("training.acknowledge", {code})))) : [el("span", {class: "muted"}, t("training.no_alarms"))]));
  }

  updateAlarms() {
    const items = [];
    for (const [id, station] of this.stations()) {
      for (const [code, alarm] of Object.entries(station.alarms || {})) {
        if (alarm.active) items.push(el("li", {class: "alarm"}, el("b", {}, stationName(id)), ` ${code}`));
      }
    }
    const key = items.map(item => item.textContent).join("|");
    if (key === this.alarmList.dataset.key) return;
    this.alarmList.dataset.key = key;
    this.alarmList.replaceChildren(...(items.length ? items : [el("li", {class: "muted"}, t("training.all_clear"))]));
  }

  async lineCommand(kind) {
    const sent = [];
    for (const [id, station] of this.stations()) {
      const action = kind === "start" ? TOWARDS_RUNNING[station.status] : kind;
      if (action && LEGAL[action].includes(station.status)) sent.push(this.command({kind: "station", station: id, action}));
    }
    const failed = (await Promise.all(sent)).filter(Boolean);
    if (!failed.length) this.notices.say("training.line_done", {count: sent.length, action: t(`training.line_${kind}`)});
  }
}

function formatValue(value) {
  if (typeof value === "boolean") return value ? "✓" : "✗";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return String(value);
}
