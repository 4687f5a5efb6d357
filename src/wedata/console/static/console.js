/* The WeData console's own script (no inline script anywhere: the pages run under
   Content-Security-Policy script-src 'self').
   - selects marked data-autosubmit submit their form (the project switcher);
   - svg.dag: the nodes the server rendered are laid out left to right with the vendored dagre,
     edges drawn from its points; wheel zooms, drag pans, "Fit" resets, the search box
     highlights matching task names (Enter centres the first); a click (or Enter) on a node
     loads its task panel into #panel. Node labels stay the server's text: nothing here builds
     HTML from data;
   - textarea[data-editor]: the task editor's code, in the vendored CodeMirror 5. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var BIG_DAG = 100; // nodes from which the layout ranks with dagre's faster ranker

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-autosubmit]") && t.value) t.form.submit();
  });

  function layout(svg) {
    if (!window.dagre || svg.dataset.laidOut) return;
    var g = new dagre.graphlib.Graph();
    var nodes = svg.querySelectorAll("g.node");
    // dagre's default ranker (network simplex) gives the shortest edges but took most of the
    // layout of a 300-task DAG (2-4 s on a loaded machine); "tight-tree" ranked the same bench
    // DAG identically in a third of the time. Small graphs keep the default.
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 56, marginx: 20, marginy: 20,
                 ranker: nodes.length > BIG_DAG ? "tight-tree" : "network-simplex" });
    g.setDefaultEdgeLabel(function () { return {}; });
    var byId = {};
    nodes.forEach(function (node) {
      var label = node.querySelector("text.label"), sub = node.querySelector("text.sub");
      var w = Math.max(label.getComputedTextLength(), sub ? sub.getComputedTextLength() : 0) + 24;
      w = Math.min(Math.max(w, 90), 420);
      byId[node.dataset.id] = node;
      g.setNode(node.dataset.id, { width: w, height: 44 });
    });
    var edges = svg.querySelectorAll("path.edge");
    edges.forEach(function (edge) {
      if (byId[edge.dataset.from] && byId[edge.dataset.to]) g.setEdge(edge.dataset.from, edge.dataset.to);
    });
    dagre.layout(g);
    g.nodes().forEach(function (id) {
      var n = g.node(id), node = byId[id];
      node.setAttribute("transform", "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")");
      var rect = node.querySelector("rect");
      rect.setAttribute("width", n.width);
      rect.setAttribute("height", n.height);
    });
    edges.forEach(function (edge) {
      var e = g.edge(edge.dataset.from, edge.dataset.to);
      if (!e) return;
      var d = e.points.map(function (p, i) { return (i ? "L" : "M") + p.x + " " + p.y; }).join(" ");
      edge.setAttribute("d", d);
    });
    var size = g.graph();
    svg.dataset.width = size.width;
    svg.dataset.height = size.height;
    svg.dataset.laidOut = "1";
    fit(svg);
    pan(svg);
  }

  function viewBox(svg) { return svg.getAttribute("viewBox").split(" ").map(Number); }
  function setBox(svg, b) { svg.setAttribute("viewBox", b.join(" ")); }

  function fit(svg) {
    var w = Number(svg.dataset.width) || 100, h = Number(svg.dataset.height) || 100;
    var ratio = svg.clientWidth / Math.max(svg.clientHeight, 1);
    // Never zoom in past 1:1 for a small graph; keep the aspect of the element.
    var bw = Math.max(w, svg.clientWidth), bh = Math.max(h, svg.clientHeight);
    if (bw / bh > ratio) bh = bw / ratio; else bw = bh * ratio;
    setBox(svg, [0, 0, bw, bh]);
  }

  function pan(svg) {
    var start = null;
    svg.addEventListener("mousedown", function (e) {
      if (e.target.closest("g.node")) return;
      start = { x: e.clientX, y: e.clientY, box: viewBox(svg) };
      svg.classList.add("panning");
    });
    window.addEventListener("mousemove", function (e) {
      if (!start) return;
      var scale = start.box[2] / svg.clientWidth;
      setBox(svg, [start.box[0] - (e.clientX - start.x) * scale, start.box[1] - (e.clientY - start.y) * scale,
                   start.box[2], start.box[3]]);
    });
    window.addEventListener("mouseup", function () { start = null; svg.classList.remove("panning"); });
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var b = viewBox(svg), k = e.deltaY > 0 ? 1.15 : 1 / 1.15;
      var r = svg.getBoundingClientRect();
      var px = b[0] + (e.clientX - r.left) / r.width * b[2], py = b[1] + (e.clientY - r.top) / r.height * b[3];
      setBox(svg, [px - (px - b[0]) * k, py - (py - b[1]) * k, b[2] * k, b[3] * k]);
    }, { passive: false });
  }

  function centre(svg, node) {
    var b = viewBox(svg), box = node.getBBox(), m = node.transform.baseVal.consolidate();
    var x = (m ? m.matrix.e : 0) + box.width / 2, y = (m ? m.matrix.f : 0) + box.height / 2;
    setBox(svg, [x - b[2] / 2, y - b[3] / 2, b[2], b[3]]);
  }

  function openNode(node) {
    if (!node.dataset.href) return;  // a node with nowhere to go (lineage: a THIRD resource)
    var svg = node.closest("svg");
    svg.querySelectorAll("g.node.selected").forEach(function (n) { n.classList.remove("selected"); });
    node.classList.add("selected");
    if (window.htmx && document.getElementById("panel")) {
      htmx.ajax("GET", node.dataset.href, { target: "#panel", swap: "innerHTML" });
    } else {
      window.location = node.dataset.href;
    }
  }

  function wire(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("svg.dag").forEach(layout);
  }

  document.addEventListener("click", function (e) {
    var node = e.target.closest && e.target.closest("svg.dag g.node");
    if (node) { openNode(node); return; }
    if (e.target.matches && e.target.matches(".dag-fit")) {
      var svg = e.target.closest(".dag-wrap").querySelector("svg.dag");
      if (svg) fit(svg);
    }
  });
  document.addEventListener("keydown", function (e) {
    var node = e.target.closest && e.target.closest("svg.dag g.node");
    if (node && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openNode(node); }
  });
  document.addEventListener("input", function (e) {
    if (!e.target.matches(".dag-search")) return;
    var text = e.target.value.trim().toLowerCase();
    var svg = e.target.closest(".dag-wrap").querySelector("svg.dag");
    svg.querySelectorAll("g.node").forEach(function (node) {
      var name = node.querySelector("text.label").textContent.toLowerCase();
      var hit = text && name.indexOf(text) >= 0;
      node.classList.toggle("match", !!hit);
      node.classList.toggle("dim", !!text && !hit);
    });
  });
  document.addEventListener("keydown", function (e) {
    if (!e.target.matches || !e.target.matches(".dag-search") || e.key !== "Enter") return;
    var svg = e.target.closest(".dag-wrap").querySelector("svg.dag");
    var first = svg.querySelector("g.node.match");
    if (first) centre(svg, first);
  });

  // The task editor: CodeMirror 5 (vendored) over textarea[data-editor], in the mode of the
  // task type; fromTextArea copies the text back into the textarea when the form posts. A new
  // task's type select switches the mode. Without the script the textarea still works.
  var MODES = { sql: "text/x-sql", shell: "shell", python: "python" };
  function editors(root) {
    if (!window.CodeMirror) return;
    (root.querySelectorAll ? root : document).querySelectorAll("textarea[data-editor]").forEach(function (area) {
      if (area.dataset.wired) return;
      area.dataset.wired = "1";
      var cm = CodeMirror.fromTextArea(area, { mode: MODES[area.dataset.editor] || "shell", lineNumbers: true,
                                               indentUnit: 4, viewportMargin: Infinity });
      cm.getWrapperElement().setAttribute("data-mode", area.dataset.editor);
      area.cm = cm;
      cm.on("change", function () { cm.save(); });
    });
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.matches || !t.matches("select[data-editor-mode-for]")) return;
    var area = document.getElementById(t.dataset.editorModeFor);
    var mode = t.options[t.selectedIndex].dataset.mode;
    area.dataset.editor = mode;
    if (area.cm) {
      area.cm.setOption("mode", MODES[mode] || "shell");
      area.cm.getWrapperElement().setAttribute("data-mode", mode);
    }
  });

  document.addEventListener("DOMContentLoaded", function () { wire(document); editors(document); });
  document.addEventListener("htmx:afterSettle", function (e) { wire(e.target); });
})();
