// The training line's state as a table (stations by PackML state, counters, alarms, buffers):
// what the replay page shows until the shared line diagram (js/line_diagram.js) draws it.

import {t} from "../i18n.js";
import {el} from "../ui.js";

export function renderStatePanel(container, state) {
  if (!state) {
    container.replaceChildren(el("p", {class: "muted"}, t("replay.line_empty")));
    return;
  }
  const stations = Object.entries(state.stations || {});
  const rows = stations.map(([id, station]) => el("tr", {dataset: {station: id, status: station.status}},
    el("th", {scope: "row"}, id),
    el("td", {}, el("span", {class: `packml packml-${station.status}`}, t(`replay.packml.${station.status}`))),
    el("td", {class: "mono"}, Object.entries(station.counters || {}).map(([name, n]) => `${name} ${n}`).join(" · ")),
    el("td", {}, activeAlarms(station).join(", ") || t("replay.no_alarms"))));
  const buffers = Object.entries(state.buffers || {});
  container.replaceChildren(
    el("table", {class: "line-table"},
      el("thead", {}, el("tr", {}, ...["station", "status", "counters", "alarms"].map(key =>
        el("th", {scope: "col"}, t(`replay.${key}`))))),
      el("tbody", {}, ...rows)),
    buffers.length ? el("p", {class: "muted"}, `${t("replay.buffers")}: `,
      buffers.map(([link, count]) => `${link} ${count}`).join(" · ")) : null);
}

function activeAlarms(station) {
  return Object.entries(station.alarms || {}).filter(([, alarm]) => alarm.active).map(([code]) => code);
}
