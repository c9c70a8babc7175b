// Sortable and filterable tables (no inline script: the CSP allows only files from /static/).
// - A click on a header of a `table.sortable` sorts its rows by that column (again: the
//   other way). Cells of a `data-type="number"` column sort by their `data-value` as numbers.
// - An input with `data-filter-table="<table id>"` hides the rows whose `data-search` text
//   does not contain what was typed (case-insensitive); the form still filters server-side.
"use strict";
(function () {
  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    if (numeric) {
      var value = parseFloat(cell.getAttribute("data-value"));
      return isNaN(value) ? -Infinity : value;
    }
    return (cell.textContent || "").trim().toLowerCase();
  }

  function sortBy(table, header) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var index = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index, numeric), y = cellKey(b, index, numeric);
      var order = numeric ? x - y : x.localeCompare(y, undefined, { numeric: true });
      return ascending ? order : -order;
    });
    Array.prototype.forEach.call(header.parentNode.cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function filterRows(table, text) {
    var needle = text.trim().toLowerCase();
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var hay = (row.getAttribute("data-search") || "").toLowerCase();
      if (row.hasAttribute("data-search")) { row.hidden = needle !== "" && hay.indexOf(needle) < 0; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable thead th").forEach(function (th) {
      th.tabIndex = 0;
      th.title = "Sort by this column";
      th.addEventListener("click", function () { sortBy(th.closest("table"), th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(th.closest("table"), th);
        }
      });
    });
    document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
      var table = document.getElementById(input.getAttribute("data-filter-table"));
      if (!table || !table.tBodies[0]) { return; }
      input.addEventListener("input", function () { filterRows(table, input.value); });
    });
  });
})();
