// Roster import: a CSV file (or pasted text) of the admin's school, checked or imported; what was
// created and every row that was skipped, in a table.

import {onLanguageChange, t} from "../../i18n.js";
import {el} from "../../ui.js";
import {fillTable, label} from "./view.js";

const $ = id => document.getElementById(id);

export class RosterView {
  constructor({api, notices}) {
    this.api = api;
    this.notices = notices;
    this.result = null;
    $("roster-file").addEventListener("change", () => this.readFile());
    $("roster-form").addEventListener("submit", event => this.submit(event));
    onLanguageChange(() => this.render());
  }

  async readFile() {
    const file = $("roster-file").files[0];
    if (file) $("roster-text").value = await file.text();
  }

  async submit(event) {
    event.preventDefault();
    const text = $("roster-text").value;
    if (!text.trim()) {
      $("roster-text").setCustomValidity(t("admin.roster_empty"));
      $("roster-text").reportValidity();
      $("roster-text").addEventListener("input", () => $("roster-text").setCustomValidity(""), {once: true});
      return;
    }
    const button = event.currentTarget.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const query = $("roster-dry").checked ? "?dry_run=1" : "";
      this.result = await this.api.request("POST", `/api/roster${query}`, {text, contentType: "text/csv; charset=utf-8"});
      this.render();
    } catch (error) {
      this.notices.error(error);
    } finally {
      button.disabled = false;
    }
  }

  render() {
    if (!this.result) return;
    const result = this.result;
    const table = el("table", {class: "data", id: "roster-errors", "aria-labelledby": "roster-errors-title"});
    fillTable(table, [
      {key: "admin.col.row", cell: error => String(error.row), className: "num"},
      {key: "admin.col.line", cell: error => String(error.row + 1), className: "num"},
      {key: "admin.col.code", cell: error => el("span", {class: "mono"}, error.code)},
      {key: "admin.col.field", cell: error => label("field", error.field)},
      {key: "admin.col.problem", cell: error => error.message},
    ], result.errors, "admin.roster_no_errors", error => ({"data-row": String(error.row)}));
    const box = $("roster-result");
    box.replaceChildren(
      el("h3", {}, t(result.dry_run ? "admin.roster_checked" : "admin.roster_done")),
      el("p", {class: "roster-summary"}, t(result.dry_run ? "admin.roster_would" : "admin.roster_summary",
        {created: result.created, updated: result.updated, enrolled: result.enrolled})),
      el("h3", {id: "roster-errors-title"}, t("admin.roster_errors", {count: result.errors.length})),
      el("div", {class: "table-wrap"}, table));
    box.hidden = false;
  }
}
