// stackstream SVG flame graph interaction: hover details, click to zoom, Ctrl-F / F3 search.
// Settings come from the root element's data-* attributes written by SvgRenderer.
(function () {
  "use strict";
  var root = document.documentElement;
  var xpad = +root.getAttribute("data-xpad");
  var fontW = +root.getAttribute("data-fontsize") * +root.getAttribute("data-fontwidth");
  var inverted = root.getAttribute("data-inverted") === "true";
  var nametype = root.getAttribute("data-nametype");
  var frames = [], X = [], W = [], Y = [], names = [];
  var details, matchedText, searchButton, unzoomButton, zoomed = -1, searchTerm = null;

  window.addEventListener("error", function (e) {
    var prev = root.getAttribute("data-errors") || "";
    root.setAttribute("data-errors", prev + (prev ? " | " : "") + e.message);
  });

  function nameOf(g) {
    var t = g.querySelector("title").textContent;
    var cut = t.lastIndexOf(" (");
    return cut > 0 ? t.substring(0, cut) : t;
  }

  function label(i, width) {
    var chars = Math.floor(width / fontW);
    var n = names[i];
    if (chars < 3) return "";
    if (n.length <= chars) return n;
    return n.substring(0, chars - 2) + "..";
  }

  function place(i, x, w) {
    var g = frames[i], r = g.querySelector("rect"), t = g.querySelector("text");
    r.setAttribute("x", x.toFixed(1));
    r.setAttribute("width", w.toFixed(1));
    t.setAttribute("x", (x + 3).toFixed(2));
    t.textContent = label(i, w);
  }

  // Is frame j an ancestor of frame i (nearer the root)? Flames grow up, icicles down.
  function nearerRoot(j, i) { return inverted ? Y[j] < Y[i] : Y[j] > Y[i]; }

  function zoom(i) {
    var fx = X[i], fw = W[i], eps = 1e-6, full = +root.getAttribute("width") - 2 * xpad;
    var ratio = full / fw;
    for (var j = 0; j < frames.length; j++) {
      var g = frames[j];
      if (nearerRoot(j, i)) {
        if (X[j] <= fx + eps && X[j] + W[j] >= fx + fw - eps) {
          g.style.display = "";
          g.style.opacity = "0.5";
          place(j, xpad, full);
        } else {
          g.style.display = "none";
        }
      } else if (X[j] >= fx - eps && X[j] < fx + fw - eps) {
        g.style.display = "";
        g.style.opacity = "";
        place(j, xpad + (X[j] - fx) * ratio, W[j] * ratio);
      } else {
        g.style.display = "none";
      }
    }
    zoomed = i;
    unzoomButton.style.opacity = "1";
    root.setAttribute("data-zoomed", String(i));
  }

  function unzoom() {
    for (var j = 0; j < frames.length; j++) {
      frames[j].style.display = "";
      frames[j].style.opacity = "";
      place(j, X[j], W[j]);
    }
    zoomed = -1;
    unzoomButton.style.opacity = "0";
    root.removeAttribute("data-zoomed");
  }

  function regexFor(term) {
    try { return new RegExp(term); } catch (e) {
      return new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    }
  }

  function search(term) {
    resetSearch();
    if (term === null || term === "") return;
    var re = regexFor(term), hits = [], rootWidth = 0;
    for (var i = 0; i < frames.length; i++) {
      rootWidth = Math.max(rootWidth, W[i]);
      if (re.test(names[i])) {
        var r = frames[i].querySelector("rect");
        r.setAttribute("data-fill", r.getAttribute("fill"));
        r.setAttribute("fill", root.getAttribute("data-searchcolor"));
        hits.push(i);
      }
    }
    searchTerm = term;
    // matched share: union of the matched frames' spans, so a match inside a match counts once
    hits.sort(function (a, b) { return X[a] - X[b] || W[b] - W[a]; });
    var covered = 0, end = -Infinity;
    for (var k = 0; k < hits.length; k++) {
      var s = X[hits[k]], e = s + W[hits[k]];
      if (e <= end) continue;
      covered += e - Math.max(s, end);
      end = e;
    }
    var pct = rootWidth > 0 ? 100 * covered / rootWidth : 0;
    var shown = pct >= 99.995 ? "100" : pct.toFixed(1);
    matchedText.textContent = "Matched: " + shown + "%";
    matchedText.style.opacity = "1";
    searchButton.textContent = "Reset Search";
    searchButton.style.opacity = "1";
    root.setAttribute("data-matched", shown);
    root.setAttribute("data-matches", String(hits.length));
  }

  function resetSearch() {
    var marked = root.querySelectorAll("rect[data-fill]");
    for (var i = 0; i < marked.length; i++) {
      marked[i].setAttribute("fill", marked[i].getAttribute("data-fill"));
      marked[i].removeAttribute("data-fill");
    }
    searchTerm = null;
    matchedText.textContent = " ";
    searchButton.textContent = "Search";
    searchButton.style.opacity = "0.1";
    root.removeAttribute("data-matched");
    root.removeAttribute("data-matches");
  }

  function prompted() {
    if (searchTerm !== null) { resetSearch(); return; }
    var term = window.prompt("Search frames (regular expression, e.g. ^ext4_)", "");
    if (term !== null) search(term);
  }

  function frameOf(node) {
    while (node && node !== root) {
      if (node.getAttribute && node.getAttribute("class") === "f") return node;
      node = node.parentNode;
    }
    return null;
  }

  function applyHash() {
    // #s=<term>&z=<frame index>: a deep link, also used by the browser tests
    var h = decodeURIComponent(location.hash.replace(/^#/, ""));
    h.split("&").forEach(function (kv) {
      var at = kv.indexOf("=");
      if (at < 0) return;
      var k = kv.substring(0, at), v = kv.substring(at + 1);
      if (k === "s") search(v);
      if (k === "z" && frames[+v]) zoom(+v);
    });
  }

  function init() {
    details = document.getElementById("details").firstChild;
    matchedText = document.getElementById("matched");
    searchButton = document.getElementById("search");
    unzoomButton = document.getElementById("unzoom");
    var gs = document.getElementById("frames").children;
    for (var i = 0; i < gs.length; i++) {
      var r = gs[i].querySelector("rect");
      frames.push(gs[i]);
      X.push(parseFloat(r.getAttribute("x")));
      W.push(parseFloat(r.getAttribute("width")));
      Y.push(parseFloat(r.getAttribute("y")));
      names.push(nameOf(gs[i]));
      gs[i].setAttribute("data-i", String(i));
    }
    var container = document.getElementById("frames");
    container.addEventListener("mouseover", function (e) {
      var g = frameOf(e.target);
      if (g) details.nodeValue = nametype + " " + g.querySelector("title").textContent;
    });
    container.addEventListener("mouseout", function () { details.nodeValue = " "; });
    container.addEventListener("click", function (e) {
      var g = frameOf(e.target);
      if (g) zoom(+g.getAttribute("data-i"));
    });
    unzoomButton.addEventListener("click", unzoom);
    searchButton.addEventListener("click", prompted);
    searchButton.addEventListener("mouseover", function () { searchButton.style.opacity = "1"; });
    searchButton.addEventListener("mouseout", function () {
      searchButton.style.opacity = searchTerm === null ? "0.1" : "1";
    });
    window.addEventListener("keydown", function (e) {
      if (e.keyCode === 114 || (e.ctrlKey && e.keyCode === 70)) { e.preventDefault(); prompted(); }
      if (e.key === "Escape") { if (searchTerm !== null) resetSearch(); else if (zoomed >= 0) unzoom(); }
    });
    window.addEventListener("hashchange", function () { unzoom(); resetSearch(); applyHash(); });
    applyHash();
    root.setAttribute("data-ready", "true");
  }

  window.stackstream = { zoom: zoom, unzoom: unzoom, search: search, resetSearch: resetSearch };
  if (document.readyState === "loading") window.addEventListener("DOMContentLoaded", init);
  else init();
})();
