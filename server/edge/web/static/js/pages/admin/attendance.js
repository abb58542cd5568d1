// Lessons and their attendance: the list of lessons, one lesson's students and classrooms (table
// and chart), overrides and excuses with a reason, the corrections (audit trail), CSV and xAPI.

import {onLanguageChange, t} from "../../i18n.js";
import {fragmentParams} from "../../session.js";
import {el} from "../../ui.js";
import {renderChart} from "./chart.js";
import {STATUSES, fillSelect, fillTable, label, minutes, percent, statusBadge, when, yesNo} from "./view.js";

const $ = id => document.getElementById(id);

export class AttendanceView {
  constructor({api, notices}) {
    this.api = api;
    this.notices = notices;
    this.lessons = [];
    this.lesson = null;       // the open lesson's id
    this.attendance = null;
    this.corrections = null;  // null: this reader may not see them
    this.bind();
    onLanguageChange(() => this.render());
  }

  bind() {
    $("lessons-refresh").addEventListener("click", () => this.loadLessons());
    $("lesson-form").addEventListener("submit", event => {
      event.preventDefault();
      this.open($("lesson-id").value.trim());
    });
    $("export-csv").addEventListener("click", () => this.export("attendance.csv", "csv"));
    $("export-xapi").addEventListener("click", () => this.export("attendance/xapi", "xapi.json"));
    $("override-form").addEventListener("submit", event => this.submit(event, "overrides", () => this.override()));
    $("excuse-form").addEventListener("submit", event => this.submit(event, "excuses", () => this.excuse()));
    $("excuse-kind").addEventListener("change", () => this.showExcuseFields());
    this.showExcuseFields();
  }

  async start() {
    await this.loadLessons();
    const wanted = fragmentParams().get("lesson");
    if (wanted) await this.open(wanted);
  }

  async loadLessons() {
    try {
      const data = await this.api.get("/api/lessons");
      this.lessons = data.lessons.sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    } catch (error) {
      this.notices.error(error);
    }
    this.renderLessons();
  }

  async open(lessonId) {
    this.lesson = lessonId;
    const path = `/api/lessons/${encodeURIComponent(lessonId)}/attendance`;
    try {
      const [attendance, corrections] = await Promise.all([
        this.api.get(path),
        this.api.get(`${path}/corrections`).catch(error => (error.code === "forbidden" ? null : Promise.reject(error))),
      ]);
      this.attendance = attendance;
      this.corrections = corrections;
    } catch (error) {
      this.notices.error(error);
      return;
    }
    this.render();
    $("lesson-detail").hidden = false;
  }

  render() {
    this.renderLessons();
    if (!this.attendance) return;
    this.renderSummary();
    renderChart($("attendance-chart"), this.attendance);
    this.renderStudents();
    this.renderForms();
    this.renderCorrections();
  }

  renderLessons() {
    fillTable($("lessons-table"), [
      {key: "admin.col.title", cell: lesson => lesson.title},
      {key: "admin.col.course", cell: lesson => lesson.course || "—"},
      {key: "admin.col.school", cell: lesson => lesson.school},
      {key: "admin.col.teacher", cell: lesson => lesson.teacher},
      {key: "admin.col.state", cell: lesson => label("lesson_state", lesson.state)},
      {key: "admin.col.started", cell: lesson => when(lesson.started_at)},
      {key: "admin.col.ended", cell: lesson => when(lesson.ended_at)},
      {key: "admin.col.actions", cell: lesson => el("button", {type: "button", class: "open-lesson",
        "aria-label": t("admin.open_lesson", {title: lesson.title}), "aria-pressed": String(lesson.id === this.lesson),
        onclick: () => this.open(lesson.id)}, t("admin.open"))},
    ], this.lessons, "admin.no_lessons", lesson => ({"data-lesson": lesson.id,
      class: lesson.id === this.lesson ? "selected" : null}));
  }

  renderSummary() {
    const data = this.attendance;
    $("lesson-title").textContent = data.title || data.lesson;
    $("lesson-meta").textContent = t("admin.lesson_meta", {course: data.course || "—", school: data.school,
      minutes: minutes(data.window_minutes), policy: data.policy_version, start: when(data.window.start)});
  }

  renderStudents() {
    fillTable($("attendance-table"), [
      {key: "admin.col.student", cell: row => el("span", {class: "mono"}, row.student)},
      {key: "admin.col.school", cell: row => row.school || "—"},
      {key: "admin.col.classroom", cell: row => (row.classrooms.length ? row.classrooms : [row.roster_classroom]).join(", ")},
      {key: "admin.col.minutes", cell: row => minutes(row.minutes), className: "num"},
      {key: "admin.col.share", cell: row => percent(row.share), className: "num"},
      {key: "admin.col.status", cell: row => statusCell(row)},
      {key: "admin.col.credit", cell: row => yesNo(row.credit)},
      {key: "admin.col.correction", cell: row => correctionCell(row)},
      {key: "admin.col.actions", cell: row => el("button", {type: "button", class: "correct",
        "aria-label": t("admin.correct_student", {student: row.student}), onclick: () => this.prefill(row)},
      t("admin.correct"))},
    ], this.attendance.students, "admin.none", row => ({"data-student": row.student}));
  }

  renderForms() {
    const students = this.attendance.students.map(row => [row.student, row.student]);
    fillSelect($("override-student"), students);
    fillSelect($("excuse-student"), students);
    fillSelect($("override-status"), STATUSES.map(status => [status, label("status", status)]));
    fillSelect($("excuse-classroom"), this.attendance.classrooms.map(room => [room.classroom, room.classroom]));
  }

  renderCorrections() {
    const table = $("corrections-table");
    if (this.corrections === null) {
      fillTable(table, [{key: "admin.corrections", cell: () => ""}], [], "admin.corrections_hidden");
      return;
    }
    const rows = [
      ...this.corrections.overrides.map(item => ({...item, kind: "override"})),
      ...this.corrections.excuses.map(item => ({...item, kind: "excuse"})),
    ].sort((a, b) => a.at - b.at || a.kind.localeCompare(b.kind) || a.id - b.id);
    fillTable(table, [
      {key: "admin.col.at", cell: item => when(item.at)},
      {key: "admin.col.kind", cell: item => t(`admin.kind.${item.kind}`)},
      {key: "admin.col.whom", cell: item => this.whom(item)},
      {key: "admin.col.status", cell: item => (item.status ? statusBadge(item.status) : "—")},
      {key: "admin.col.reason", cell: item => item.reason},
      {key: "admin.col.author", cell: item => item.author},
    ], rows, "admin.no_corrections", item => ({"data-kind": item.kind}));
  }

  whom(item) {
    if (item.student) return el("span", {class: "mono"}, item.student);
    const start = this.attendance.window.start;
    const minute = at => (at === null ? null : Math.round((at - start) / 60));
    return t("admin.outage_span", {classroom: item.classroom,
      from: minute(item.start) ?? t("admin.lesson_start"), to: minute(item.end) ?? t("admin.lesson_end")});
  }

  prefill(row) {
    $("override-student").value = row.student;
    $("override-status").value = row.status;
    $("override-status").focus();
    $("override-form").scrollIntoView({block: "nearest"});
  }

  showExcuseFields() {
    const kind = $("excuse-kind").value;
    for (const node of document.querySelectorAll("#excuse-form .for-student")) node.hidden = kind !== "student";
    for (const node of document.querySelectorAll("#excuse-form .for-classroom")) node.hidden = kind !== "classroom";
  }

  override() {
    return {student: $("override-student").value, status: $("override-status").value,
      reason: $("override-reason").value.trim()};
  }

  excuse() {
    const reason = $("excuse-reason").value.trim();
    if ($("excuse-kind").value === "student") return {student: $("excuse-student").value, reason};
    const start = this.attendance.window.start;
    const at = input => (input.value === "" ? null : start + Number(input.value) * 60);
    return {classroom: $("excuse-classroom").value, start: at($("excuse-from")), end: at($("excuse-to")), reason};
  }

  async submit(event, kind, body) {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await this.api.post(`/api/lessons/${encodeURIComponent(this.lesson)}/attendance/${kind}`, body());
      form.querySelector("[name=reason]").value = "";
      await this.open(this.lesson);
      this.notices.say(`admin.saved_${kind}`, {}, "ok");
    } catch (error) {
      this.notices.error(error);
    } finally {
      button.disabled = false;
    }
  }

  async export(suffix, extension) {
    try {
      await this.api.download(`/api/lessons/${encodeURIComponent(this.lesson)}/${suffix}`,
        `attendance-${this.lesson}.${extension}`);
    } catch (error) {
      this.notices.error(error);
    }
  }
}

function statusCell(row) {
  const flags = [row.late && row.status !== "late" ? t("admin.flag.late") : null,
    row.left_early && row.status !== "left_early" ? t("admin.flag.left_early") : null].filter(Boolean);
  return el("span", {class: "status-cell"}, statusBadge(row.status),
    row.computed_status !== row.status
      ? el("span", {class: "muted small"}, t("admin.computed", {status: label("status", row.computed_status)}))
      : null,
    flags.length ? el("span", {class: "muted small"}, flags.join(" · ")) : null);
}

function correctionCell(row) {
  if (!row.override_reason) return "—";
  return el("span", {class: "correction"}, row.override_reason,
    el("span", {class: "muted small"}, row.override_author));
}
