"use strict";
// The HTML report's behaviour: sortable tables, filters, collapsed details
// and printing with everything shown. Every page works without it: the
// pages are written with every section open and every row present; this
// script only hides and orders. Data is shown with textContent, never as
// markup. The page's Content-Security-Policy allows this script by hash.
(function () {
  var doc = document;
  function all(sel, root) { return Array.prototype.slice.call((root || doc).querySelectorAll(sel)); }
  function one(sel, root) { return (root || doc).querySelector(sel); }
  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function option(select, value, text) {
    var o = doc.createElement("option");
    o.value = value;
    o.textContent = text;
    select.appendChild(o);
  }
  function activate(th, go) {
    th.tabIndex = 0;
    th.addEventListener("click", go);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
    });
  }
  // The next direction for a header: numbers start descending, text ascending.
  function direction(th, heads) {
    var cur = th.getAttribute("aria-sort");
    var asc = cur ? cur === "descending" : th.getAttribute("data-sort") !== "num";
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    return asc;
  }

  // Static tables: a click on a header sorts the rows by that column.
  all("table.sortable").forEach(function (table) {
    var heads = all("thead th", table);
    heads.forEach(function (th, col) {
      if (!th.hasAttribute("data-sort")) return;
      var num = th.getAttribute("data-sort") === "num";
      activate(th, function () {
        var asc = direction(th, heads);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
          var c = r.cells[col];
          var v = c ? (c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent.trim()) : "";
          return { r: r, i: i, v: num ? (parseFloat(v) || 0) : v.toLowerCase() };
        });
        rows.sort(function (a, b) {
          var d = num ? a.v - b.v : (a.v < b.v ? -1 : a.v > b.v ? 1 : 0);
          return (asc ? d : -d) || a.i - b.i;
        });
        rows.forEach(function (x) { body.appendChild(x.r); });
      });
    });
  });

  // Findings: collapsed, except the one the address points at.
  var findings = all("details.finding");
  findings.forEach(function (d) { d.open = false; });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var t = id && doc.getElementById(id);
    if (t && t.tagName === "DETAILS") { t.open = true; t.hidden = false; t.scrollIntoView(); }
  }
  openTarget();
  window.addEventListener("hashchange", openTarget);

  // Finding filters: one select per data attribute, filled from the page.
  var box = one("#finding-filters");
  if (box && findings.length) {
    box.hidden = false;
    var order = ["high", "medium", "low", "info"];
    var selects = all("select[data-field]", box);
    selects.forEach(function (s) {
      var field = s.getAttribute("data-field");
      var seen = {};
      findings.forEach(function (f) {
        var v = f.getAttribute("data-" + field);
        if (v) seen[v] = true;
      });
      var values = Object.keys(seen).sort(function (a, b) {
        if (field === "sev") return order.indexOf(a) - order.indexOf(b);
        return a < b ? -1 : a > b ? 1 : 0;
      });
      if (!values.length) { s.parentNode.hidden = true; return; }
      values.forEach(function (v) { option(s, v, v); });
      s.addEventListener("change", filter);
    });
    var shown = one(".shown", box);
    function filter() {
      var n = 0;
      findings.forEach(function (f) {
        var ok = selects.every(function (s) {
          return !s.value || f.getAttribute("data-" + s.getAttribute("data-field")) === s.value;
        });
        f.hidden = !ok;
        if (ok) n++;
      });
      shown.textContent = n + " of " + findings.length + " finding" + (findings.length === 1 ? "" : "s") + " shown";
    }
    all("button[data-open]", box).forEach(function (b) {
      b.addEventListener("click", function () {
        var open = b.getAttribute("data-open") === "1";
        findings.forEach(function (f) { if (!f.hidden) f.open = open; });
      });
    });
    filter();
  }

  // The overview's customer table: every customer from the inline data,
  // filtered, sorted and shown a page at a time.
  var data = one("#customer-data");
  var printAll = null;
  if (data) {
    var d = JSON.parse(data.textContent);
    var table = one("#customers-table");
    var body = table.tBodies[0];
    var f = one("#customer-filters");
    var q = one("input[name=q]", f);
    var sev = one("select[name=sev]", f);
    var rule = one("select[name=rule]", f);
    var partner = one("select[name=partner]", f);
    var status = one("select[name=status]", f);
    var pager = one("#customer-pager");
    var shownC = one(".shown", f);
    d.rules.forEach(function (r, i) { option(rule, String(i), r); });
    d.partners.forEach(function (p, i) { option(partner, String(i), p); });
    // Row layout: name, id, high, medium, low, info, total, new, [partner], [rule], incomplete.
    var SEV = { high: 2, medium: 3, low: 4, info: 5 };
    var COL = { name: 0, high: 2, medium: 3, low: 4, info: 5, total: 6, "new": 7 };
    var heads = all("thead th", table);
    var key = null, asc = true, page = 0, size = d.page_size, everything = false;
    var cols = heads.length;
    heads.forEach(function (th) {
      var k = th.getAttribute("data-key");
      if (!k) return;
      activate(th, function () { asc = direction(th, heads); key = k; page = 0; draw(); });
    });
    var rows = function () {
      var text = q.value.trim().toLowerCase();
      var s = SEV[sev.value];
      var r = rule.value === "" ? -1 : Number(rule.value);
      var p = partner.value === "" ? -1 : Number(partner.value);
      var st = status ? status.value : "";
      var out = d.customers.filter(function (c) {
        if (text && c[0].toLowerCase().indexOf(text) < 0 && c[1].indexOf(text) < 0) return false;
        if (s && !c[s]) return false;
        if (r >= 0 && c[9].indexOf(r) < 0) return false;
        if (p >= 0 && c[8].indexOf(p) < 0) return false;
        if (st === "new" && !c[7]) return false;
        if (st === "unchanged" && (c[7] || !c[6])) return false;
        return true;
      });
      if (key !== null) {
        var k = COL[key];
        out = out.map(function (c, i) { return { c: c, i: i }; });
        out.sort(function (a, b) {
          var x = a.c[k], y = b.c[k];
          var v = k === 0 ? x.localeCompare(y) : x - y;
          return (asc ? v : -v) || a.i - b.i;
        });
        out = out.map(function (x) { return x.c; });
      }
      return out;
    };
    var row = function (c) {
      var tr = el("tr");
      var td = el("td");
      var a = el("a", null, c[0]);
      a.setAttribute("href", d.base + encodeURIComponent(c[1]) + ".html");
      td.appendChild(a);
      if (c[10]) { td.appendChild(doc.createTextNode(" ")); td.appendChild(el("span", "chip c-medium", "incomplete input")); }
      td.appendChild(el("span", "sub mono muted", c[1]));
      tr.appendChild(td);
      tr.appendChild(el("td", null, c[8].map(function (i) { return d.partners[i]; }).join(", ")));
      for (var k = 2; k <= 6; k++) tr.appendChild(el("td", "num" + (k === 2 && c[k] ? " hot" : ""), String(c[k])));
      if (d.baseline) tr.appendChild(el("td", "num", String(c[7])));
      return tr;
    };
    var draw = function () {
      var list = rows();
      var pages = Math.max(1, Math.ceil(list.length / size));
      if (page >= pages) page = pages - 1;
      var from = everything ? 0 : page * size;
      var to = everything ? list.length : Math.min(list.length, from + size);
      var frag = doc.createDocumentFragment();
      for (var i = from; i < to; i++) frag.appendChild(row(list[i]));
      if (!list.length) {
        var tr = el("tr");
        var td = el("td", "none", "No customer matches the filters.");
        td.colSpan = cols;
        tr.appendChild(td);
        frag.appendChild(tr);
      }
      body.textContent = "";
      body.appendChild(frag);
      shownC.textContent = list.length
        ? (from + 1) + "\u2013" + to + " of " + list.length + " customer" + (list.length === 1 ? "" : "s")
        : "no customer";
      one(".page", pager).textContent = "page " + (page + 1) + " of " + pages;
      one("button[data-step='-1']", pager).disabled = page === 0;
      one("button[data-step='1']", pager).disabled = page >= pages - 1;
      pager.hidden = pages < 2;
    };
    all("button[data-step]", pager).forEach(function (b) {
      b.addEventListener("click", function () { page += Number(b.getAttribute("data-step")); draw(); });
    });
    [sev, rule, partner, status].forEach(function (s) {
      if (s) s.addEventListener("change", function () { page = 0; draw(); });
    });
    q.addEventListener("input", function () { page = 0; draw(); });
    all(".js-hide").forEach(function (e) { e.hidden = true; });
    f.hidden = false;
    draw();
    printAll = function (on) { everything = on; draw(); };
  }

  // Printing shows everything: every finding open, every matching row.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    all("details:not([open])").forEach(function (x) { closed.push(x); x.open = true; });
    if (printAll) printAll(true);
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (x) { x.open = false; });
    closed = [];
    if (printAll) printAll(false);
  });
  doc.documentElement.setAttribute("data-ready", "1");
})();
