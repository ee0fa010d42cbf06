// stackstream single-file flame graph: canvas rendering that culls frames narrower than a pixel,
// so it stays smooth with 100k+ frames. Search, zoom, icicle and reversed (callers) views, a top
// functions table, and a sandwich view (callers and callees of one function).
(function () {
  "use strict";
  var body = document.body, errors = [];
  window.addEventListener("error", function (e) {
    errors.push(e.message);
    body.setAttribute("data-errors", errors.join(" | "));
  });

  var data = JSON.parse(document.getElementById("profile-data").textContent);
  var names = data.names, counts = data.counts, lengths = data.lengths, shared = data.shared;
  var nStacks = counts.length, offsets = new Int32Array(nStacks + 1), grand = 0;
  for (var i = 0; i < nStacks; i++) { offsets[i + 1] = offsets[i] + lengths[i]; grand += counts[i]; }
  // stacks arrive as "shares the first shared[i] frames with the previous stack" + the rest
  var ids = new Int32Array(offsets[nStacks]), packed = data.frames, next = 0;
  for (i = 0; i < nStacks; i++) {
    var o = offsets[i], keep = shared[i], prevO = i > 0 ? offsets[i - 1] : 0;
    for (var k = 0; k < keep; k++) ids[o + k] = ids[prevO + k];
    for (k = keep; k < lengths[i]; k++) ids[o + k] = packed[next++];
  }
  var ROW = data.frameHeight || 16, SEARCH = "rgb(230,0,230)", countName = data.countName || "samples";

  // ---- names: display form (kind suffix stripped) and sort rank -------------------------------
  var shown = names.map(function (n) { return n.replace(/_\[[kjiw]\]$/, ""); });
  var rank = new Int32Array(names.length);
  names.map(function (n, k) { return k; })
    .sort(function (a, b) { return names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0; })
    .forEach(function (k, r) { rank[k] = r; });

  // ---- colours: a deterministic function of the name, in the palette's range ------------------
  function weight(s, reversed) {
    var vector = 0, w = 1, max = 1, mod = 10, n = s.length;
    for (var k = 0; k < n && mod <= 12; k++) {
      var c = s.charCodeAt(reversed ? n - 1 - k : k);
      vector += ((c % mod) / (mod - 1)) * w; mod++; max += w; w *= 0.7;
    }
    return 1 - vector / max;
  }
  var colorCache = new Array(names.length);
  function color(id) {
    var c = colorCache[id];
    if (c) return c;
    var n = names[id], v1 = weight(n, false), v2 = weight(n, true), p = data.palette;
    if (n === "--") c = "rgb(160,160,160)";
    else if (n === "-") c = "rgb(200,200,200)";
    else if (p === "mem") c = "rgb(0," + (190 + (50 * v2 | 0)) + "," + (210 * v1 | 0) + ")";
    else if (p === "io") c = "rgb(" + (80 + (60 * v1 | 0)) + "," + (80 + (60 * v1 | 0)) + "," + (190 + (55 * v2 | 0)) + ")";
    else if (p === "java") {
      if (/_\[j\]$/.test(n) || /^L?(java|org|com|io|sun|jdk)\//.test(n)) c = "rgb(" + (50 + (60 * v1 | 0)) + "," + (200 + (55 * v1 | 0)) + "," + (50 + (60 * v1 | 0)) + ")";
      else if (/_\[i\]$/.test(n)) c = "rgb(" + (50 + (60 * v1 | 0)) + "," + (165 + (55 * v1 | 0)) + "," + (165 + (55 * v1 | 0)) + ")";
      else if (/_\[k\]$/.test(n)) c = "rgb(" + (190 + (65 * v1 | 0)) + "," + (90 + (65 * v1 | 0)) + ",0)";
      else if (n.indexOf("::") >= 0) c = "rgb(" + (175 + (55 * v1 | 0)) + "," + (175 + (55 * v1 | 0)) + "," + (50 + (20 * v1 | 0)) + ")";
      else c = "rgb(" + (200 + (55 * v1 | 0)) + "," + (50 + (80 * v1 | 0)) + "," + (50 + (80 * v1 | 0)) + ")";
    } else c = "rgb(" + (205 + (50 * v2 | 0)) + "," + (230 * v1 | 0) + "," + (55 * v2 | 0) + ")";
    colorCache[id] = c;
    return c;
  }

  // ---- trees -----------------------------------------------------------------------------------
  // A tree is built from (stack index, from, to, step) walks over the frame ids, so the normal,
  // reversed and sandwich trees share one builder. Children are found through one Map keyed by
  // parent * names + name (no per-node objects), then laid out in pre-order, siblings by name.
  function buildTree(walk) {
    var name = [-1], parent = [-1], value = [0], self = [0], child = new Map(), stride = names.length;
    walk(function (path, count) {
      var node = 0;
      value[0] += count;
      for (var k = 0; k < path.length; k++) {
        var key = node * stride + path[k], next = child.get(key);
        if (next === undefined) {
          next = name.length;
          name.push(path[k]); parent.push(node); value.push(0); self.push(0);
          child.set(key, next);
        }
        value[next] += count;
        node = next;
      }
      self[node] += count;
    });
    var n = name.length, kids = new Int32Array(n), start = new Int32Array(n + 1);
    for (var j = 1; j < n; j++) kids[parent[j]]++;
    for (j = 0; j < n; j++) start[j + 1] = start[j] + kids[j];
    var fill = start.slice(0, n), list = new Int32Array(Math.max(n - 1, 0));
    for (j = 1; j < n; j++) list[fill[parent[j]]++] = j;
    var order = new Int32Array(n), x = new Float64Array(n), depth = new Int32Array(n), end = new Int32Array(n);
    var stack = [0], pos = 0, maxDepth = 0, cursor = new Float64Array(n);
    x[0] = 0;
    var slot = new Int32Array(n); // node -> position in pre-order
    while (stack.length) {
      var v = stack.pop();
      if (v < 0) { end[slot[~v]] = pos; continue; }
      slot[v] = pos; order[pos++] = v;
      stack.push(~v);
      var a = start[v], b = start[v + 1];
      var sorted = Array.prototype.slice.call(list, a, b).sort(function (p, q) { return rank[name[p]] - rank[name[q]]; });
      var cx = x[v];
      for (var s = 0; s < sorted.length; s++) {
        var c = sorted[s];
        x[c] = cx; cx += value[c];
        depth[c] = depth[v] + 1;
        if (depth[c] > maxDepth) maxDepth = depth[c];
      }
      for (s = sorted.length - 1; s >= 0; s--) stack.push(sorted[s]);
    }
    // arrays indexed by pre-order position
    var P = { size: n, maxDepth: maxDepth, name: new Int32Array(n), x: new Float64Array(n), w: new Float64Array(n),
              self: new Float64Array(n), depth: new Int32Array(n), end: end, parent: new Int32Array(n) };
    for (var q = 0; q < n; q++) {
      var node = order[q];
      P.name[q] = name[node]; P.x[q] = x[node]; P.w[q] = value[node]; P.self[q] = self[node];
      P.depth[q] = depth[node]; P.parent[q] = parent[node] < 0 ? -1 : slot[parent[node]];
    }
    return P;
  }

  function stackPath(i, reversed) {
    var a = offsets[i], b = offsets[i + 1], path = new Array(b - a);
    for (var k = 0; k < path.length; k++) path[k] = ids[reversed ? b - 1 - k : a + k];
    return path;
  }
  function allStacks(reversed) {
    return function (add) { for (var i = 0; i < nStacks; i++) add(stackPath(i, reversed), counts[i]); };
  }
  function firstIndex(i, fn) {
    for (var k = offsets[i]; k < offsets[i + 1]; k++) if (ids[k] === fn) return k - offsets[i];
    return -1;
  }
  function callersOf(fn) {
    return function (add) {
      for (var i = 0; i < nStacks; i++) {
        var at = firstIndex(i, fn);
        if (at >= 0) add(stackPath(i, false).slice(0, at + 1).reverse(), counts[i]);
      }
    };
  }
  function calleesOf(fn) {
    return function (add) {
      for (var i = 0; i < nStacks; i++) {
        var at = firstIndex(i, fn);
        if (at >= 0) add(stackPath(i, false).slice(at), counts[i]);
      }
    };
  }

  // ---- a flame graph on a canvas -----------------------------------------------------------
  var searchRe = null;
  function matches(id) { return searchRe !== null && searchRe.test(names[id]); }

  function FlameView(canvas, rootLabel) {
    this.canvas = canvas; this.ctx = canvas.getContext("2d");
    this.tree = null; this.zoom = 0; this.icicle = !!data.inverted; this.rootLabel = rootLabel;
    this.drawn = []; this.drawnCount = 0; this.highlighted = 0;
    var self = this;
    canvas.addEventListener("mousemove", function (e) { self.hover(e); });
    canvas.addEventListener("mouseout", function () { tip.style.display = "none"; details.textContent = "\u00a0"; });
    canvas.addEventListener("click", function (e) { var hit = self.hit(e); if (hit >= 0) self.zoomTo(hit); });
  }
  FlameView.prototype.setTree = function (tree) { this.tree = tree; this.zoom = 0; this.draw(); };
  FlameView.prototype.zoomTo = function (pos) { this.zoom = pos; this.draw(); publish(); };
  FlameView.prototype.label = function (pos) { return pos === 0 ? this.rootLabel : shown[this.tree.name[pos]]; };
  FlameView.prototype.draw = function () {
    var t = this.tree, c = this.canvas, ctx = this.ctx;
    if (!t) return;
    var ratio = window.devicePixelRatio || 1, width = c.clientWidth || 800;
    var height = (t.maxDepth + 1) * ROW + 4;
    c.width = Math.round(width * ratio); c.height = Math.round(height * ratio);
    c.style.height = height + "px";
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px Verdana, sans-serif"; ctx.textBaseline = "middle";
    var z = this.zoom, x0 = t.x[z], scale = width / Math.max(t.w[z], 1e-9), zd = t.depth[z];
    var drawn = [], highlighted = 0, icicle = this.icicle, maxDepth = t.maxDepth;
    function rowY(d) { return icicle ? d * ROW : (maxDepth - d) * ROW; }
    var self = this;
    function box(pos, x, w, faded) {
      var id = t.name[pos], hot = pos !== 0 && matches(id);
      if (hot) highlighted++;
      ctx.globalAlpha = faded ? 0.6 : 1;
      ctx.fillStyle = hot ? SEARCH : (pos === 0 ? "rgb(220,110,60)" : color(id));
      var y = rowY(t.depth[pos]);
      ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
      if (w > 24) {
        var text = self.label(pos), fit = Math.floor((w - 6) / 7);
        if (text.length > fit) text = fit > 2 ? text.substring(0, fit - 2) + ".." : "";
        if (text) { ctx.fillStyle = "#000"; ctx.fillText(text, x + 3, y + ROW / 2); }
      }
      ctx.globalAlpha = 1;
      drawn.push(pos, x, w);
    }
    // ancestors of the zoomed frame span the width, faded
    for (var a = t.parent[z]; a >= 0; a = t.parent[a]) box(a, 0, width, true);
    var endPos = t.end[z];
    for (var p = z; p < endPos;) {
      var w = t.w[p] * scale;
      if (w < 0.3) { p = t.end[p]; continue; }   // too narrow to see: skip its whole subtree
      box(p, (t.x[p] - x0) * scale, w, false);
      p++;
    }
    this.drawn = drawn; this.drawnCount = drawn.length / 3; this.highlighted = highlighted;
    this.zoomDepth = zd;
  };
  FlameView.prototype.hit = function (e) {
    var r = this.canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top, t = this.tree;
    var d = this.icicle ? Math.floor(y / ROW) : t.maxDepth - Math.floor(y / ROW);
    for (var k = 0; k < this.drawn.length; k += 3) {
      var pos = this.drawn[k];
      if (t.depth[pos] === d && x >= this.drawn[k + 1] && x < this.drawn[k + 1] + this.drawn[k + 2]) return pos;
    }
    return -1;
  };
  FlameView.prototype.info = function (pos) {
    var t = this.tree, root = t.w[0] || 1;
    return this.label(pos) + " (" + t.w[pos].toLocaleString("en-US") + " " + countName + ", " +
      (100 * t.w[pos] / root).toFixed(2) + "%; self " + t.self[pos].toLocaleString("en-US") + ")";
  };
  FlameView.prototype.hover = function (e) {
    var pos = this.hit(e);
    if (pos < 0) { tip.style.display = "none"; return; }
    var text = this.info(pos);
    details.textContent = "Function: " + text;
    tip.textContent = text; tip.style.display = "block";
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 300) + "px"; tip.style.top = (e.clientY + 12) + "px";
  };
  // share of the whole tree under frames matching the search, nested matches counted once
  FlameView.prototype.matchedShare = function () {
    var t = this.tree, covered = 0;
    if (!t || searchRe === null) return 0;
    for (var p = 1; p < t.size;) {
      if (matches(t.name[p])) { covered += t.w[p]; p = t.end[p]; } else p++;
    }
    return t.w[0] > 0 ? 100 * covered / t.w[0] : 0;
  };
  FlameView.prototype.searchPixels = function () {
    var c = this.canvas;
    if (!c.width || !c.height) return 0;
    var px = this.ctx.getImageData(0, 0, c.width, c.height).data, n = 0;
    for (var k = 0; k < px.length; k += 4) if (px[k] === 230 && px[k + 1] === 0 && px[k + 2] === 230) n++;
    return n;
  };

  // ---- page ------------------------------------------------------------------------------------
  var $ = function (id) { return document.getElementById(id); };
  var tip = $("tip"), details = $("details"), searchBox = $("search"), matchedText = $("matched");
  var main = new FlameView($("flame"), "all");
  var callers = new FlameView($("callers"), "");
  var callees = new FlameView($("callees"), "");
  var normalTree = null, reversedTree = null, reversed = !!data.reversed, viewName = "flame";

  function currentTree() {
    if (reversed) { if (!reversedTree) reversedTree = buildTree(allStacks(true)); return reversedTree; }
    if (!normalTree) normalTree = buildTree(allStacks(false));
    return normalTree;
  }
  function showFlame() {
    viewName = reversed ? "reversed" : "flame";
    $("main").style.display = ""; $("sandwich").style.display = "none"; $("flamebtn").style.display = "none";
    main.setTree(currentTree());
    $("reversed").className = reversed ? "on" : ""; $("icicle").className = main.icicle ? "on" : "";
    publish();
  }
  function sandwich(fn) {
    viewName = "sandwich";
    $("main").style.display = "none"; $("sandwich").style.display = ""; $("flamebtn").style.display = "";
    $("callersTitle").textContent = "Callers of " + shown[fn] + " (root: the function, upwards: who calls it)";
    $("calleesTitle").textContent = "Callees of " + shown[fn];
    callers.icicle = true; callees.icicle = true;
    callers.rootLabel = shown[fn]; callees.rootLabel = shown[fn];
    var up = buildTree(callersOf(fn)), down = buildTree(calleesOf(fn));
    // both trees start with fn itself under an artificial root: show from that frame
    callers.setTree(up); callees.setTree(down);
    if (up.size > 1) callers.zoomTo(1);
    if (down.size > 1) callees.zoomTo(1);
    body.setAttribute("data-sandwich", shown[fn]);
    publish();
  }

  // top functions by self and total
  var topRows = null, sortKey = "self";
  function computeTop() {
    var self = new Float64Array(names.length), total = new Float64Array(names.length), stamp = new Int32Array(names.length).fill(-1);
    for (var i = 0; i < nStacks; i++) {
      var a = offsets[i], b = offsets[i + 1];
      if (b > a) self[ids[b - 1]] += counts[i];
      for (var k = a; k < b; k++) { var id = ids[k]; if (stamp[id] !== i) { stamp[id] = i; total[id] += counts[i]; } }
    }
    var rows = [];
    for (var n = 0; n < names.length; n++) if (total[n] > 0) rows.push({ id: n, self: self[n], total: total[n] });
    return rows;
  }
  function renderTop() {
    if (!topRows) topRows = computeTop();
    var key = sortKey === "selfp" ? "self" : sortKey === "totalp" ? "total" : sortKey;
    topRows.sort(key === "name" ? function (a, b) { return shown[a.id] < shown[b.id] ? -1 : 1; }
                                : function (a, b) { return b[key] - a[key] || a.id - b.id; });
    var tb = $("top").tBodies[0], html = [], g = grand || 1;
    for (var r = 0; r < Math.min(topRows.length, 500); r++) {
      var row = topRows[r];
      html.push("<tr data-id=\"" + row.id + "\"><td class=\"name\"></td><td>" + row.self.toLocaleString("en-US") +
        "</td><td>" + (100 * row.self / g).toFixed(2) + "%</td><td>" + row.total.toLocaleString("en-US") +
        "</td><td>" + (100 * row.total / g).toFixed(2) + "%</td></tr>");
    }
    tb.innerHTML = html.join("");
    for (r = 0; r < tb.rows.length; r++) tb.rows[r].cells[0].textContent = shown[topRows[r].id];
    body.setAttribute("data-top-rows", String(tb.rows.length));
    body.setAttribute("data-top-first", tb.rows.length ? shown[topRows[0].id] : "");
  }

  function setSearch(term) {
    searchBox.value = term;
    if (!term) searchRe = null;
    else { try { searchRe = new RegExp(term); } catch (e) { searchRe = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")); } }
    redraw();
  }
  function redraw() {
    if (viewName === "sandwich") { callers.draw(); callees.draw(); } else main.draw();
    publish();
  }
  function publish() {
    var share = main.matchedShare();
    matchedText.textContent = searchRe === null ? "" : "Matched: " + (share >= 99.995 ? "100" : share.toFixed(1)) + "%";
    body.setAttribute("data-view", viewName);
    body.setAttribute("data-nodes", String(main.tree ? main.tree.size : 0));
    body.setAttribute("data-drawn", String(main.drawnCount));
    body.setAttribute("data-highlighted", String(main.highlighted));
    body.setAttribute("data-zoom", main.tree && main.zoom > 0 ? main.label(main.zoom) : "");
    body.setAttribute("data-zoom-width", main.tree ? String(main.tree.w[main.zoom]) : "0");
    if (searchRe === null) { body.removeAttribute("data-matched"); } else body.setAttribute("data-matched", share.toFixed(1));
  }

  // ---- wiring ----------------------------------------------------------------------------------
  searchBox.addEventListener("input", function () { setSearch(searchBox.value); });
  $("reset").addEventListener("click", function () { main.zoomTo(0); });
  $("icicle").addEventListener("click", function () { main.icicle = !main.icicle; showFlame(); });
  $("reversed").addEventListener("click", function () { reversed = !reversed; showFlame(); });
  $("flamebtn").addEventListener("click", showFlame);
  $("topbtn").addEventListener("click", function () {
    var p = $("panel"), open = p.style.display !== "block";
    p.style.display = open ? "block" : "none"; $("topbtn").className = open ? "on" : "";
    if (open) renderTop();
  });
  $("top").tHead.addEventListener("click", function (e) {
    var k = e.target.getAttribute("data-k"); if (k) { sortKey = k; renderTop(); }
  });
  $("top").tBodies[0].addEventListener("click", function (e) {
    var tr = e.target.closest("tr"); if (tr) sandwich(+tr.getAttribute("data-id"));
  });
  $("flame").addEventListener("dblclick", function (e) { var h = main.hit(e); if (h > 0) sandwich(main.tree.name[h]); });
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.keyCode === 70) { e.preventDefault(); searchBox.focus(); searchBox.select(); }
    if (e.key === "Escape") { if (searchRe !== null) setSearch(""); else if (viewName === "sandwich") showFlame(); else main.zoomTo(0); }
  });
  var resizeTimer = 0;
  window.addEventListener("resize", function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(redraw, 100); });

  function nameId(label) {
    for (var k = 0; k < names.length; k++) if (shown[k] === label || names[k] === label) return k;
    return -1;
  }
  function applyHash() {
    // deep links, also used by the browser tests: #s=<regexp>&z=<frame name>&v=reversed|icicle|top|sandwich:<name>
    var h = location.hash.replace(/^#/, "");
    if (!h) return;
    h.split("&").forEach(function (kv) {
      var at = kv.indexOf("="), k = kv.substring(0, at), v = decodeURIComponent(kv.substring(at + 1));
      if (k === "v" && v === "reversed") { reversed = true; showFlame(); }
      if (k === "v" && v === "icicle") { main.icicle = true; showFlame(); }
      if (k === "v" && v === "top") $("topbtn").click();
      if (k === "v" && v.indexOf("sandwich:") === 0) { var f = nameId(v.substring(9)); if (f >= 0) sandwich(f); }
      if (k === "s") setSearch(v);
      if (k === "z") {
        var t = main.tree, best = -1, id = nameId(v);
        for (var p = 1; p < t.size; p++) if (t.name[p] === id && (best < 0 || t.w[p] > t.w[best])) best = p;
        if (best > 0) main.zoomTo(best);
      }
    });
    body.setAttribute("data-search-pixels", String(viewName === "sandwich" ? callers.searchPixels() : main.searchPixels()));
  }

  window.stackstream = { search: setSearch, sandwich: sandwich, zoomTo: function (p) { main.zoomTo(p); }, view: main };
  showFlame();
  applyHash();
  window.addEventListener("hashchange", function () { setSearch(""); main.zoomTo(0); applyHash(); });
  body.setAttribute("data-ready", "true");
})();
