// What every part of the admin page shows the same way: tables, statuses, numbers and times in
// the reader's language.

import {language, t} from "../../i18n.js";
import {el} from "../../ui.js";

export const STATUSES = ["present", "late", "left_early", "excused", "absent"];

// Fill a <table> from columns [{key, cell(row) -> Node|string, className}] and rows; an empty
// list is one row saying so (emptyKey).
export function fillTable(table, columns, rows, emptyKey = "admin.none", rowAttributes = () => ({})) {
  const head = el("thead", {}, el("tr", {}, columns.map(column =>
    el("th", {scope: "col", class: column.className}, t(column.key)))));
  const body = el("tbody", {}, rows.length
    ? rows.map(row => el("tr", rowAttributes(row), columns.map(column =>
      el("td", {class: column.className}, column.cell(row)))))
    : el("tr", {}, el("td", {colspan: String(columns.length), class: "muted empty"}, t(emptyKey))));
  table.replaceChildren(head, body);
}

export function statusBadge(status) {
  return el("span", {class: `status status-${status}`}, label("status", status));
}

// t("prefix.value"), or the value itself when there is no such text.
export function label(prefix, value) {
  const key = `${prefix}.${value}`;
  const text = t(key);
  return text === key ? String(value) : text;
}

export function minutes(value) {
  return Number(value).toFixed(1);
}

export function percent(share) {
  return `${Math.round(Number(share) * 100)}%`;
}

export function yesNo(value) {
  return el("span", {class: value ? "yes" : "no"}, t(value ? "admin.yes" : "admin.no"));
}

function locale() {
  return language() === "zh" ? "zh-CN" : "en-GB";
}

// A moment as a short date and time: unix seconds, or an ISO string from the ledger.
export function when(moment) {
  if (moment === null || moment === undefined || moment === "") return "";
  const date = typeof moment === "number" ? new Date(moment * 1000) : new Date(moment);
  return Number.isNaN(date.getTime()) ? String(moment) : date.toLocaleString(locale(),
    {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
}

export function option(value, text, selected = false) {
  return el("option", {value, selected}, text);
}

// Replace a <select>'s options, keeping the chosen value when it is still offered.
export function fillSelect(select, options) {
  const chosen = select.value;
  select.replaceChildren(...options.map(([value, text]) => option(value, text)));
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}
