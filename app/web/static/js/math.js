// Typesets the math that app/web/markdown.py emits: every `.math.inline` and
// `.math.block` element's textContent (escaped TeX) goes through KaTeX with trust off;
// `.block` is display mode. An element is typeset once (it gets data-typeset="1").
// Runs when the page has loaded and on every htmx swap, for the swapped part.
"use strict";
window.fdlTypeset = function (root) {
  var katex = window.katex;
  if (!katex || typeof katex.render !== "function") { return; }
  var scope = root && typeof root.querySelectorAll === "function" ? root : document;
  var found = scope.querySelectorAll(".math.inline, .math.block");
  for (var i = 0; i < found.length; i++) {
    var el = found[i];
    if (el.getAttribute("data-typeset") === "1") { continue; }
    try {
      katex.render(el.textContent, el, {
        displayMode: el.classList.contains("block"),
        throwOnError: false,
        trust: false,
        strict: "ignore",
        maxSize: 20,
        maxExpand: 200,
        output: "htmlAndMathml"
      });
    } catch (err) {
      // The TeX stays shown as text.
    }
    el.setAttribute("data-typeset", "1");
  }
};

document.addEventListener("DOMContentLoaded", function () {
  window.fdlTypeset(document);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    window.fdlTypeset(event.target);
  });
});
