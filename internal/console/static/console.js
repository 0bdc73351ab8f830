// wabiz console: live updates (server-sent events), forms sent without a
// reload, reply and read buttons, and the template preview. Plain
// JavaScript, no library; the pages work without it, only less live.
"use strict";

(function () {
  var csrf = document.body.dataset.csrf || "";

  function showError(text) {
    var el = document.getElementById("console-error");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  // refresh replaces every live region of the given topics with the same
  // region of a fresh copy of its source.
  var refreshing = {};
  function refresh(topics) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (topics.indexOf(el.dataset.live) < 0 || !el.id || refreshing[el.id]) return;
      refreshing[el.id] = true;
      var src = el.dataset.src;
      fetch(src, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(el.id);
          var cur = document.getElementById(el.id);
          if (!fresh || !cur) return;
          var list = cur.classList.contains("chat");
          var atEnd = list && cur.scrollTop + cur.clientHeight >= cur.scrollHeight - 40;
          var openDetails = [];
          cur.querySelectorAll("details[open]").forEach(function (d, i) { openDetails.push(i); });
          cur.replaceWith(fresh);
          var all = fresh.querySelectorAll("details");
          openDetails.forEach(function (i) { if (all[i]) all[i].open = true; });
          if (list && atEnd) fresh.scrollTop = fresh.scrollHeight;
        })
        .catch(function (e) { showError("Live update failed: " + e.message); })
        .finally(function () { refreshing[el.id] = false; });
    });
  }

  function allTopics() {
    var t = [];
    document.querySelectorAll("[data-live]").forEach(function (el) { t.push(el.dataset.live); });
    return t;
  }

  if (document.querySelector("[data-live]") && window.EventSource) {
    var es = new EventSource("/console/events");
    es.addEventListener("change", function (ev) {
      try { refresh(JSON.parse(ev.data).topics || []); } catch (e) { /* a malformed event changes nothing */ }
    });
    // After a reconnection whatever happened meanwhile is shown.
    es.addEventListener("open", function () { refresh(allTopics()); });
  }

  function post(form, extra) {
    var data = new FormData(form);
    Object.keys(extra || {}).forEach(function (k) { data.set(k, extra[k]); });
    return fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf }
    }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(t || r.statusText); });
      showError("");
      refresh(allTopics());
      return r;
    });
  }

  // Forms marked data-fetch are sent in the background, so the chat
  // stays where it is; the others post and reload as usual.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-fetch") || !window.fetch) return;
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    post(form).then(function () {
      if (form.id === "send-text") {
        form.querySelector("textarea").value = "";
        var ctx = document.getElementById("reply-context");
        if (ctx) ctx.value = "";
      }
      if (form.id === "send-file") form.reset();
      var details = form.closest("details.list");
      if (details) details.open = false;
    }).catch(function (e) { showError(e.message); })
      .finally(function () { if (button) button.disabled = false; });
  });

  // Enter sends a text, Shift+Enter starts a new line, as on a phone.
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.key === "Enter" && !ev.shiftKey && t.tagName === "TEXTAREA" && t.form && t.form.id === "send-text") {
      ev.preventDefault();
      t.form.requestSubmit();
    }
  });

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t.dataset && t.dataset.replyTo) {
      var ctx = document.getElementById("reply-context");
      var react = document.getElementById("react-context");
      if (ctx) ctx.value = t.dataset.replyTo;
      if (react) react.value = t.dataset.replyTo;
      var body = document.querySelector("#send-text textarea");
      if (body) body.focus();
    }
    if (t.dataset && t.dataset.read) {
      var form = document.getElementById("read-all");
      if (form) post(form, { message_id: t.dataset.read }).catch(function (e) { showError(e.message); });
    }
  });

  // The template preview draws a definition as the phone would show it,
  // with textContent only: a definition never becomes markup.
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function preview(area) {
    var out = document.getElementById(area.dataset.preview);
    if (!out) return;
    out.replaceChildren();
    var def;
    try { def = JSON.parse(area.value); } catch (e) {
      out.appendChild(el("p", "error-text", "Not JSON yet: " + e.message));
      return;
    }
    (def.components || []).forEach(function (c) {
      var type = String(c.type || "").toUpperCase();
      if (type === "HEADER") out.appendChild(el("p", "header", c.text || "[" + String(c.format || "").toLowerCase() + "]"));
      if (type === "BODY") out.appendChild(el("p", "text", c.text || ""));
      if (type === "FOOTER") out.appendChild(el("p", "footer", c.text || ""));
      if (type === "BUTTONS") (c.buttons || []).forEach(function (b) { out.appendChild(el("span", "choice", b.text || b.type)); });
    });
    out.appendChild(el("p", "meta", (def.name || "?") + " · " + (def.language || "?") + " · " + String(def.status || "").toLowerCase()));
  }
  document.querySelectorAll("textarea[data-preview]").forEach(function (a) {
    preview(a);
    a.addEventListener("input", function () { preview(a); });
  });

  var chat = document.getElementById("bubbles");
  if (chat) chat.scrollTop = chat.scrollHeight;
})();
