// The admin page: a school's admin reviews lessons and attendance (with overrides, excuses and
// their audit trail, CSV and xAPI export), looks up a student's attendance and credits, imports a
// roster, and keeps the credit ledger (the signed checkpoint, recognitions, the school's entries).
// Each section lives in js/pages/admin/; this module signs in and switches between them.

import {register} from "../i18n.js";
import {Api} from "../protocol.js";
import strings from "../strings/admin.js";
import {signIn, startPage} from "../ui.js";
import {AttendanceView} from "./admin/attendance.js";
import {LedgerView} from "./admin/ledger.js";
import {RosterView} from "./admin/roster.js";
import {StudentView} from "./admin/student.js";

register(strings);

// Sections are shown one at a time; the buttons say which one is shown (aria-current).
function sectionSwitch(onShow) {
  const buttons = [...document.querySelectorAll(".admin-tabs .tab")];
  const show = name => {
    for (const button of buttons) {
      const shown = button.dataset.section === name;
      button.setAttribute("aria-current", shown ? "true" : "false");
      document.getElementById(`section-${button.dataset.section}`).hidden = !shown;
    }
    onShow(name);
  };
  for (const button of buttons) {
    button.setAttribute("aria-controls", `section-${button.dataset.section}`);
    button.addEventListener("click", () => show(button.dataset.section));
  }
  show("attendance");
}

async function main() {
  const {notices} = startPage("admin.title");
  const {token, claims} = await signIn("admin", ["admin"]);
  const context = {api: new Api(token), claims, notices};
  const attendance = new AttendanceView(context);
  const ledger = new LedgerView(context);
  new StudentView(context);
  new RosterView(context);
  const loaded = new Set();
  document.getElementById("admin-app").hidden = false;
  sectionSwitch(name => {
    if (name === "ledger" && !loaded.has(name)) { loaded.add(name); ledger.load(); }
  });
  await attendance.start();
  document.body.dataset.ready = "true";
}

main();
