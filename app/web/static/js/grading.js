// Keyboard grading on the answer page; every key works without the mouse.
// 1-9, 0: toggle the rubric items (a fixed item clears the part's other fixed item);
// n: submit and next; s: save; j / k: next / previous answer; c: comment; a: adjustment;
// x: skip; f: flag; Escape: leave a text field. Keys are ignored while typing in a field.
// On a queue's page, n starts grading ("Grade next").
(function () {
  "use strict";
  function form() { return document.getElementById("grade-form"); }

  function clamp(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }

  // The same scoring rule as gradebook/rubric.py, for the preview only (the server scores).
  function preview() {
    const f = form();
    if (!f) return;
    let total = 0;
    f.querySelectorAll("fieldset.part").forEach(function (part) {
      let base = 0, delta = 0;
      part.querySelectorAll("input[name=item]:checked").forEach(function (box) {
        const p = parseFloat(box.dataset.points);
        if (box.dataset.fixed === "1") base = p; else delta += p;
      });
      total += clamp(base + delta, 0, parseFloat(part.dataset.max));
    });
    const adj = parseFloat((document.getElementById("adjustment").value || "0").replace(",", "."));
    if (!isNaN(adj)) total += adj;
    total = clamp(total, 0, parseFloat(f.dataset.max));
    document.getElementById("points-preview").textContent = String(Math.round(total * 1000) / 1000);
  }

  function onItemChange(box) {
    if (box.checked && box.dataset.fixed === "1") {
      box.closest("fieldset").querySelectorAll("input[name=item][data-fixed='1']").forEach(function (other) {
        if (other !== box) other.checked = false;
      });
    }
    preview();
  }

  function submitWith(value) {
    const f = form();
    const button = f && f.querySelector("button[name=then][value=" + value + "]");
    if (button && !button.disabled) f.requestSubmit(button);
  }

  function follow(id) { const a = document.getElementById(id); if (a) window.location.href = a.href; }

  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type !== "checkbox" && el.type !== "radio"));
  }

  document.addEventListener("DOMContentLoaded", function () {
    const f = form();
    const start = document.getElementById("grade-next");
    if (!f && start) {
      document.addEventListener("keydown", function (e) {
        if (e.key === "n" && !e.altKey && !e.ctrlKey && !e.metaKey && !typing(document.activeElement)) {
          e.preventDefault();
          start.form.requestSubmit(start);
        }
      });
    }
    if (!f) return;
    f.querySelectorAll("input[name=item]").forEach(function (box) {
      box.addEventListener("change", function () { onItemChange(box); });
    });
    document.getElementById("adjustment").addEventListener("input", preview);
    document.querySelectorAll(".bank-insert").forEach(function (button) {
      button.addEventListener("click", function () {
        const c = document.getElementById("comment");
        c.value = c.value ? c.value + "\n" + button.dataset.text : button.dataset.text;
        c.focus();
      });
    });
    document.getElementById("comment").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submitWith("next"); }
    });

    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (typing(document.activeElement)) {
        if (e.key === "Escape") document.activeElement.blur();
        return;
      }
      const box = /^[0-9]$/.test(e.key) && f.querySelector("input[name=item][data-key='" + e.key + "']");
      if (box) { e.preventDefault(); box.checked = !box.checked; onItemChange(box); return; }
      const actions = {
        n: function () { submitWith("next"); },
        s: function () { submitWith("stay"); },
        j: function () { follow("next"); },
        k: function () { follow("prev"); },
        c: function () { document.getElementById("comment").focus(); },
        a: function () { document.getElementById("adjustment").focus(); },
        x: function () { const s = document.getElementById("skip-form"); if (s) s.requestSubmit(); },
        f: function () { const n = document.getElementById("flag-note"); if (n) n.focus(); }
      };
      if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
    });
    preview();
  });
})();
