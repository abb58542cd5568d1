// One student: their attendance in every lesson, and their credits with the level they reach.

import {onLanguageChange, t} from "../../i18n.js";
import {el, errorSentence} from "../../ui.js";
import {fillTable, label, minutes, percent, statusBadge, when, yesNo} from "./view.js";

const $ = id => document.getElementById(id);

export class StudentView {
  constructor({api}) {
    this.api = api;
    this.code = null;
    this.attendance = null;
    this.credits = null;
    $("student-form").addEventListener("submit", event => {
      event.preventDefault();
      const input = $("student-code");
      input.value = input.value.trim().toUpperCase();
      this.show(input.value);
    });
    onLanguageChange(() => this.render());
  }

  async show(code) {
    if (!code) return;
    const path = `/api/students/${encodeURIComponent(code)}`;
    const [attendance, credits] = await Promise.allSettled([this.api.get(`${path}/attendance`),
      this.api.get(`${path}/credits`)]);
    Object.assign(this, {code, attendance, credits});
    this.render();
  }

  render() {
    if (!this.code) return;
    $("student-result").replaceChildren(
      part("admin.credits", this.credits, creditsCard),
      part("admin.student_attendance", this.attendance, attendanceTable));
  }
}

// A card with a title, and either what fn draws from the answer or why there is none.
function part(titleKey, settled, fn) {
  return el("div", {class: "card"}, el("h3", {}, t(titleKey)),
    settled.status === "fulfilled" ? fn(settled.value)
      : el("p", {class: "notice error", role: "alert"}, errorSentence(settled.reason)));
}

function creditsCard(credits) {
  const levels = Object.entries(credits.thresholds).sort((a, b) => Number(a[1]) - Number(b[1]));
  const next = levels.find(([, threshold]) => Number(threshold) > Number(credits.recognised));
  return el("div", {class: "credits"},
    el("dl", {class: "figures"},
      figure("admin.level", el("span", {class: `level level-${credits.level}`}, label("level", credits.level))),
      figure("admin.earned", credits.earned),
      figure("admin.recognised", credits.recognised),
      figure("admin.pending", credits.pending),
      figure("admin.home_school", credits.home_school)),
    el("ol", {class: "levels", "aria-label": t("admin.levels")}, levels.map(([level, threshold]) =>
      el("li", {class: level === credits.level ? "current" : null, "aria-current": level === credits.level ? "step" : null},
        el("strong", {}, label("level", level)), el("span", {class: "muted"}, threshold)))),
    next ? el("p", {class: "muted"}, t("admin.next_level", {level: label("level", next[0]),
      missing: (Number(next[1]) - Number(credits.recognised)).toFixed(2)})) : null,
    credits.complete === false ? el("p", {class: "notice warn"}, t("admin.partial_credits")) : null,
    entriesTable(credits.entries));
}

function figure(key, value) {
  return el("div", {}, el("dt", {}, t(key)), el("dd", {}, value));
}

function entriesTable(entries) {
  const table = el("table", {class: "data"});
  fillEntries(table, entries);
  return el("div", {class: "table-wrap"}, table);
}

export function fillEntries(table, entries) {
  fillTable(table, [
    {key: "admin.col.seq", cell: entry => String(entry.seq), className: "num"},
    {key: "admin.col.at", cell: entry => when(entry.at)},
    {key: "admin.col.kind", cell: entry => label("entry", entry.kind)},
    {key: "admin.col.student", cell: entry => el("span", {class: "mono"}, entry.student)},
    {key: "admin.col.school", cell: entry => entry.school},
    {key: "admin.col.course", cell: entry => entry.course || "—"},
    {key: "admin.col.credits", cell: entry => entry.credits ?? (entry.amount / 100).toFixed(2), className: "num"},
    {key: "admin.col.reason", cell: entry => entry.reason || "—"},
  ], entries, "admin.no_entries");
}

function attendanceTable(data) {
  const table = el("table", {class: "data"});
  fillTable(table, [
    {key: "admin.col.title", cell: row => row.title || row.lesson},
    {key: "admin.col.course", cell: row => row.course || "—"},
    {key: "admin.col.school", cell: row => row.school},
    {key: "admin.col.minutes", cell: row => minutes(row.minutes), className: "num"},
    {key: "admin.col.share", cell: row => percent(row.share), className: "num"},
    {key: "admin.col.status", cell: row => statusBadge(row.status)},
    {key: "admin.col.credit", cell: row => yesNo(row.credit)},
  ], data.lessons, "admin.no_lessons");
  return el("div", {class: "table-wrap"}, table);
}
