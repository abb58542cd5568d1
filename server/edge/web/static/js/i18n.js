// Chinese (default) and English text for every page. Each page registers its own strings
// (register({zh: {...}, en: {...}})); markup names them with data-i18n attributes:
//   data-i18n="key"              the element's text
//   data-i18n-placeholder="key"  its placeholder
//   data-i18n-title="key"        its title
//   data-i18n-aria-label="key"   its aria-label
// The choice is remembered in localStorage and applied on every page.

import common from "./strings/common.js";

const STORAGE_KEY = "classroom.lang";
export const LANGUAGES = ["zh", "en"];
const strings = {zh: {}, en: {}};
const listeners = new Set();
const ATTRIBUTES = [["data-i18n-placeholder", "placeholder"], ["data-i18n-title", "title"],
  ["data-i18n-aria-label", "aria-label"]];

export function register(table) {
  for (const language of LANGUAGES) Object.assign(strings[language], table[language] || {});
}

register(common);

export function language() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(stored)) return stored;
  } catch (_) { /* storage disabled: the default */ }
  return "zh";
}

export function setLanguage(next) {
  if (!LANGUAGES.includes(next)) return;
  try { localStorage.setItem(STORAGE_KEY, next); } catch (_) { /* not remembered */ }
  apply(document);
  for (const listener of listeners) listener(next);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// The text for key in the current language, with {name} placeholders filled from params.
export function t(key, params = {}) {
  const table = strings[language()];
  const text = key in table ? table[key] : (strings.en[key] ?? key);
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function apply(root) {
  document.documentElement.lang = language() === "zh" ? "zh-CN" : "en";
  const titleKey = document.documentElement.dataset.titleKey;
  if (titleKey) document.title = t(titleKey);
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const [data, attribute] of ATTRIBUTES) {
    for (const element of root.querySelectorAll(`[${data}]`)) element.setAttribute(attribute, t(element.getAttribute(data)));
  }
}

// A button that switches between 中文 and English; put it in every page's header.
export function languageSwitch() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "language-switch";
  const render = () => {
    const other = language() === "zh" ? "en" : "zh";
    button.textContent = other === "en" ? "English" : "中文";
    button.setAttribute("lang", other === "en" ? "en" : "zh-CN");
    button.setAttribute("aria-label", t("language.switch"));
  };
  button.addEventListener("click", () => setLanguage(language() === "zh" ? "en" : "zh"));
  onLanguageChange(render);
  render();
  return button;
}

// Numbers, durations and times in the current language.
export function formatTime(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleTimeString(language() === "zh" ? "zh-CN" : "en-GB",
    {hour: "2-digit", minute: "2-digit"});
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = n => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}
