// The attendance of a lesson per classroom as an inline SVG: for each classroom, its students
// by status (a stacked bar, counts written in) and its connected share of the lesson (a thin bar
// under it). Colours come from classes (css/admin.css), so the page's CSP holds.

import {t} from "../../i18n.js";
import {el} from "../../ui.js";
import {STATUSES, label, minutes, percent} from "./view.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 960, LABEL = 250, BAR = WIDTH - LABEL - 10, ROW = 64;

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

// The rows of the chart: every classroom with its students counted by status.
export function chartRows(attendance) {
  const rows = new Map(attendance.classrooms.map(room => [room.classroom,
    {classroom: room.classroom, share: room.share, minutes: room.minutes, counts: {}, total: 0}]));
  for (const student of attendance.students) {
    const room = student.roster_classroom || student.classrooms[0];
    if (!room) continue;
    if (!rows.has(room)) rows.set(room, {classroom: room, share: 0, minutes: 0, counts: {}, total: 0});
    const row = rows.get(room);
    row.counts[student.status] = (row.counts[student.status] || 0) + 1;
    row.total += 1;
  }
  return [...rows.values()];
}

function describe(row) {
  const parts = STATUSES.filter(status => row.counts[status]).map(status =>
    `${label("status", status)} ${row.counts[status]}`);
  return t("admin.chart_row", {classroom: row.classroom, minutes: minutes(row.minutes), share: percent(row.share),
    students: parts.join(", ") || t("admin.chart_nobody")});
}

function statusBar(row, y) {
  const group = svg("g");
  let x = LABEL;
  for (const status of STATUSES) {
    const count = row.counts[status] || 0;
    if (!count) continue;
    const width = BAR * count / row.total;
    group.append(svg("rect", {x, y, width, height: 24, class: `bar status-${status}`}));
    if (width >= 22) {
      group.append(svg("text", {x: x + width / 2, y: y + 17, class: "count", "text-anchor": "middle"}, count));
    }
    x += width;
  }
  if (!row.total) group.append(svg("rect", {x: LABEL, y, width: BAR, height: 24, class: "bar empty"}));
  return group;
}

function connectedBar(row, y) {
  return [
    svg("rect", {x: LABEL, y, width: BAR, height: 8, rx: 4, class: "track"}),
    svg("rect", {x: LABEL, y, width: Math.max(0, BAR * Math.min(1, row.share)), height: 8, rx: 4, class: "connected"}),
  ];
}

function chartRow(row, index) {
  const top = index * ROW + 6;
  const group = svg("g", {class: "chart-row"});
  group.append(
    svg("text", {x: 0, y: top + 16, class: "room"}, row.classroom),
    svg("text", {x: 0, y: top + 40, class: "note"},
      t("admin.chart_connected", {minutes: minutes(row.minutes), share: percent(row.share)})),
    statusBar(row, top),
    ...connectedBar(row, top + 32));
  return group;
}

function legend() {
  return el("ul", {class: "legend"},
    STATUSES.map(status => el("li", {}, el("span", {class: `swatch status-${status}`}), label("status", status))),
    el("li", {}, el("span", {class: "swatch connected"}), t("admin.chart_connected_legend")));
}

export function renderChart(container, attendance) {
  const rows = chartRows(attendance);
  if (!rows.length) {
    container.replaceChildren(el("p", {class: "muted"}, t("admin.none")));
    return;
  }
  const height = rows.length * ROW + 6;
  const chart = svg("svg", {viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc",
    class: "attendance-chart", preserveAspectRatio: "xMinYMin meet"});
  chart.append(svg("title", {id: "chart-title"}, t("admin.chart")),
    svg("desc", {id: "chart-desc"}, rows.map(describe).join("; ")),
    ...rows.map(chartRow));
  container.replaceChildren(chart, legend());
}
