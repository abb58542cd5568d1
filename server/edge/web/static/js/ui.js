// The chrome every page shares: a header with the language switch and who is signed in, the
// sign-in form, error sentences, and a tiny DOM builder. No framework: pages build with el().

import {apply, languageSwitch, onLanguageChange, t} from "./i18n.js";
import {claimsOf, expired, forget, keep, takeToken} from "./session.js";

// el("button", {class: "primary", onclick: f, dataset: {i18n: "x"}}, "text", child...)
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// An element whose text is the i18n key's, kept in the current language.
export function text(tag, key, attributes = {}) {
  const element = el(tag, {...attributes, dataset: {...(attributes.dataset || {}), i18n: key}});
  element.textContent = t(key);
  return element;
}

// A refusal or failure as a sentence in the reader's language.
export function errorSentence(error) {
  const code = error && error.code ? error.code : "unknown";
  const message = error && error.message ? error.message : String(error);
  const key = `error.${code}`;
  const sentence = t(key, {message});
  return sentence === key ? t("error.unknown", {message}) : sentence;
}

export function pageHeader(titleKey) {
  const identity = el("span", {class: "identity", id: "identity"});
  const header = el("header", {class: "page-header"},
    el("div", {class: "brand"}, text("span", "app.name", {class: "app-name"}), text("h1", titleKey)),
    el("div", {class: "header-tools"}, identity, languageSwitch()));
  document.body.prepend(header);
  return header;
}

// The alert line under the header: errors and the link's state, read out by screen readers.
export function notices() {
  const region = document.getElementById("notices") || el("div", {id: "notices", class: "notices", role: "status",
    "aria-live": "polite"});
  if (!region.isConnected) document.querySelector(".page-header").after(region);
  return {
    error(error) { show(region, "notice error", errorSentence(error)); },
    say(key, params, tone = "info") { show(region, `notice ${tone}`, t(key, params), key, params); },
    clear() { region.replaceChildren(); },
  };
}

function show(region, className, sentence, key, params) {
  const item = el("p", {class: className, role: className.includes("error") ? "alert" : null}, sentence,
    el("button", {type: "button", class: "dismiss", "aria-label": "×", onclick: () => item.remove()}, "×"));
  if (key) {
    const render = () => { item.firstChild.textContent = t(key, params); };
    onLanguageChange(render);
  }
  region.replaceChildren(item);
}

// Sign the page in: the token from the link (or kept from before) when its role is one of
// roles; otherwise a form to paste one. Resolves with {token, claims}.
export function signIn(kind, roles) {
  const token = takeToken(kind);
  const claims = token ? claimsOf(token) : null;
  if (token && claims && !expired(claims) && roles.includes(claims.role)) {
    showIdentity(kind, claims);
    return Promise.resolve({token, claims});
  }
  return new Promise(resolve => {
    const reason = !token ? null : !claims || expired(claims) ? "error.unauthorized" : "signin.wrong_role";
    const input = el("textarea", {id: "token-input", rows: "3", required: true, spellcheck: "false",
      "data-i18n-placeholder": "signin.token", placeholder: t("signin.token"), "aria-labelledby": "token-label"});
    const form = el("form", {class: "signin card"},
      text("h2", "signin.title"),
      reason ? el("p", {class: "notice error", role: "alert"}, t(reason, {role: t(`role.${claims && claims.role}`)})) : null,
      text("p", "signin.explain"),
      text("label", "signin.token", {id: "token-label", for: "token-input"}),
      input,
      text("button", "signin.submit", {type: "submit", class: "primary"}));
    form.addEventListener("submit", event => {
      event.preventDefault();
      const pasted = input.value.trim();
      const pastedClaims = claimsOf(pasted);
      if (!pastedClaims || expired(pastedClaims) || !roles.includes(pastedClaims.role)) {
        input.setCustomValidity(t(pastedClaims && !expired(pastedClaims) ? "signin.wrong_role" : "error.unauthorized",
          {role: t(`role.${pastedClaims && pastedClaims.role}`)}));
        input.reportValidity();
        return;
      }
      keep(kind, pasted);
      form.remove();
      showIdentity(kind, pastedClaims);
      resolve({token: pasted, claims: pastedClaims});
    });
    input.addEventListener("input", () => input.setCustomValidity(""));
    document.querySelector("main").prepend(form);
    apply(form);
  });
}

function showIdentity(kind, claims) {
  const slot = document.getElementById("identity");
  if (!slot) return;
  const render = () => {
    slot.replaceChildren(
      el("span", {}, t("signin.signed_in_as", {subject: claims.subject, role: t(`role.${claims.role}`),
        school: claims.school})),
      el("button", {type: "button", class: "link-button", onclick: () => { forget(kind); location.reload(); }},
        t("signin.sign_out")));
  };
  onLanguageChange(render);
  render();
}

// The page's shell: header, notices, the language applied. Returns {notices}.
export function startPage(titleKey) {
  document.documentElement.dataset.titleKey = titleKey;
  pageHeader(titleKey);
  const board = notices();
  apply(document);
  return {notices: board};
}
