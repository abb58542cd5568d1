// The credit ledger: the newest signed checkpoint (its Ed25519 signature and key id checked here,
// in the browser, with WebCrypto), recognitions to post or void, and the school's own entries.

import {onLanguageChange, t} from "../../i18n.js";
import {el} from "../../ui.js";
import {fillEntries} from "./student.js";
import {fillSelect, fillTable, label, when} from "./view.js";

const $ = id => document.getElementById(id);
const FILTERS = ["pending", "posted", "voided", "reversed", ""];

function bytes(base64) {
  return Uint8Array.from(atob(base64), c => c.charCodeAt(0));
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), b => b.toString(16).padStart(2, "0")).join("");
}

// "verified", "bad" (signature or key id do not match) or "unchecked" (no WebCrypto Ed25519 here).
export async function checkCheckpoint(checkpoint, publicKeyPem) {
  let key, der;
  try {
    der = bytes(publicKeyPem.replace(/-----[^-]+-----|\s/g, ""));
    key = await crypto.subtle.importKey("spki", der, {name: "Ed25519"}, false, ["verify"]);
  } catch (_) {
    return "unchecked";
  }
  const message = new TextEncoder().encode(
    `classroom-ledger-checkpoint/v1\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.at}\n`);
  const signed = await crypto.subtle.verify({name: "Ed25519"}, key, bytes(checkpoint.signature), message);
  const keyId = hex(await crypto.subtle.digest("SHA-256", der.slice(-32))).slice(0, 16);
  return signed && keyId === checkpoint.key_id ? "verified" : "bad";
}

export class LedgerView {
  constructor({api, claims, notices}) {
    this.api = api;
    this.claims = claims;
    this.notices = notices;
    this.checkpoint = null;
    this.verdict = null;
    this.recognitions = null;
    this.entries = null;
    $("ledger-refresh").addEventListener("click", () => this.load());
    $("recognition-filter").addEventListener("change", () => this.loadRecognitions());
    this.renderFilter();
    onLanguageChange(() => { this.renderFilter(); this.render(); });
  }

  renderFilter() {
    const select = $("recognition-filter");
    const first = !select.options.length;
    fillSelect($("recognition-filter"), FILTERS.map(status => [status, label("recognition_filter", status || "all")]));
    if (first) select.value = "pending";
  }

  async load() {
    await Promise.all([this.loadCheckpoint(), this.loadRecognitions(), this.loadEntries()]);
  }

  async loadCheckpoint() {
    try {
      const data = await this.api.get("/api/ledger/checkpoint");
      this.checkpoint = data.checkpoint;
      this.verdict = data.checkpoint ? await checkCheckpoint(data.checkpoint, data.public_key) : null;
    } catch (error) {
      this.notices.error(error);
    }
    this.renderCheckpoint();
  }

  async loadRecognitions() {
    const status = $("recognition-filter").value;
    try {
      const data = await this.api.get(`/api/recognitions${status ? `?status=${status}` : ""}`);
      this.recognitions = data.recognitions;
    } catch (error) {
      this.notices.error(error);
    }
    this.renderRecognitions();
  }

  async loadEntries() {
    try {
      const data = await this.api.get(`/api/ledger/entries?school=${encodeURIComponent(this.claims.school)}&limit=200`);
      this.entries = data.entries;
    } catch (error) {
      this.notices.error(error);
    }
    this.renderEntries();
  }

  render() {
    this.renderCheckpoint();
    this.renderRecognitions();
    this.renderEntries();
  }

  renderCheckpoint() {
    const box = $("checkpoint");
    if (!this.checkpoint) {
      box.replaceChildren(el("p", {class: "muted"}, t("admin.no_checkpoint")));
      return;
    }
    const cp = this.checkpoint;
    box.replaceChildren(
      el("p", {class: `verdict verdict-${this.verdict}`, id: "checkpoint-verdict"}, t(`admin.verdict.${this.verdict}`)),
      el("dl", {class: "figures"},
        el("div", {}, el("dt", {}, t("admin.head_seq")), el("dd", {}, String(cp.seq))),
        el("div", {}, el("dt", {}, t("admin.signed_at")), el("dd", {}, when(cp.at))),
        el("div", {}, el("dt", {}, t("admin.key_id")), el("dd", {class: "mono"}, cp.key_id))),
      el("p", {class: "hash"}, el("span", {class: "muted"}, t("admin.head_hash")), " ", el("code", {}, cp.hash)));
  }

  renderRecognitions() {
    if (!this.recognitions) return;
    fillTable($("recognitions-table"), [
      {key: "admin.col.student", cell: r => el("span", {class: "mono"}, r.student)},
      {key: "admin.col.course", cell: r => r.course},
      {key: "admin.col.lesson_school", cell: r => r.lesson_school},
      {key: "admin.col.credits", cell: r => r.credits, className: "num"},
      {key: "admin.col.at", cell: r => when(r.at)},
      {key: "admin.col.state", cell: r => el("span", {class: `recognition recognition-${r.status}`},
        label("recognition", r.status))},
      {key: "admin.col.actions", cell: r => this.actions(r)},
    ], this.recognitions, "admin.no_recognitions", r => ({"data-seq": String(r.earned_seq)}));
  }

  actions(recognition) {
    if (recognition.status !== "pending" || recognition.home_school !== this.claims.school) {
      return recognition.decided_by ? t("admin.decided_by", {seq: recognition.decided_by}) : "—";
    }
    const reason = el("input", {class: "reason", maxlength: "2000", autocomplete: "off",
      "aria-label": t("admin.reason_for", {student: recognition.student}), placeholder: t("admin.reason")});
    const decide = action => () => this.decide(recognition.earned_seq, action, reason);
    return el("span", {class: "decide"}, reason,
      el("button", {type: "button", class: "primary", onclick: decide("post")}, t("admin.post")),
      el("button", {type: "button", class: "danger", onclick: decide("void")}, t("admin.void")));
  }

  async decide(seq, action, input) {
    const reason = input.value.trim();
    if (action === "void" && !reason) {
      input.setCustomValidity(t("admin.reason_required"));
      input.reportValidity();
      input.addEventListener("input", () => input.setCustomValidity(""), {once: true});
      return;
    }
    try {
      await this.api.post(`/api/recognitions/${seq}/${action}`, reason ? {reason} : {});
      this.notices.say(`admin.recognition_${action}ed`, {}, "ok");
      await this.load();
    } catch (error) {
      this.notices.error(error);
    }
  }

  renderEntries() {
    if (!this.entries) return;
    fillEntries($("entries-table"), this.entries);
  }
}
