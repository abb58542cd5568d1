// The front page: what this is, the pages, and how to get a link to one.

import {register, t, onLanguageChange} from "../i18n.js";
import strings from "../strings/index.js";
import {el, startPage} from "../ui.js";

register(strings);

// The pages the server serves (server/edge/web/pages.py PAGES; tests/web keeps the two in step).
const PAGES = [
  {path: "/teacher", key: "page.teacher", role: "teacher",
    example: "--role teacher --subject alice --school east --lesson LESSON_ID"},
  {path: "/classroom", key: "page.classroom", role: "classroom",
    example: "--role classroom --subject nujiang-1 --school west-1 --lesson LESSON_ID"},
  {path: "/replay", key: "page.replay", role: "student",
    example: "--role student --subject li --school west --lesson LESSON_ID"},
  {path: "/admin", key: "page.admin", role: "admin", example: "--role admin --subject root --school east"},
];

function renderPages(container) {
  const render = () => {
    const cards = PAGES.map(page => el("article", {class: "card"},
      el("h2", {}, el("a", {href: page.path}, t(page.key))),
      el("p", {}, t(`${page.key}.about`)),
      el("p", {class: "muted"}, t("index.for", {who: t(`role.${page.role}`)}))));
    container.replaceChildren(...(cards.length ? cards : [el("p", {class: "muted"}, t("index.unavailable"))]));
  };
  onLanguageChange(render);
  render();
}

startPage("index.title");
renderPages(document.getElementById("pages"));
document.getElementById("howto-commands").textContent = PAGES.length
  ? PAGES.map(page => `classroom link ${page.example}`).join("\n")
  : "classroom link --role ROLE --subject SUBJECT --school SCHOOL [--lesson LESSON_ID]";
