
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("board-data").textContent);
  var table = document.getElementById("ranking");
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var trs = [];
  Array.prototype.forEach.call(tbody.rows, function (tr) { trs[Number(tr.dataset.row)] = tr; });
  var col = {};
  heads.forEach(function (th, i) { col[th.dataset.col] = i; });
  var ranks = trs.map(function (_, i) { return i + 1; });
  var sorted = {col: "rank", dir: "ascending"};
  var form = document.getElementById("budgets");
  var note = document.getElementById("budget-note");
  var keys = ["bmax", "cmax", "temperature"];
  var units = {bmax: " GB", cmax: " TFLOPs", temperature: ""};
  var names = {bmax: "Bmax", cmax: "Cmax", temperature: "T"};

  function cell(i, name) { return trs[i].cells[col[name]]; }

  function setNumber(td, text, value) { td.textContent = text; td.dataset.value = String(value); }

  function c3(r, b) {
    return r.accuracy / 100 * Math.exp(-(r.gb / b.bmax + r.tflops / b.cmax) / b.temperature);
  }

  function sortBy(name, dir) {
    var th = heads[col[name]];
    var numeric = th.dataset.type === "number";
    var sign = dir === "ascending" ? 1 : -1;
    var values = trs.map(function (_, i) {
      var td = cell(i, name);
      if (!numeric) { return td.textContent.trim(); }
      return td.dataset.value === "" ? null : Number(td.dataset.value);
    });
    var order = trs.map(function (_, i) { return i; });
    order.sort(function (x, y) {
      var a = values[x], b = values[y], c;
      if (a === null || b === null) {
        c = (a === null) - (b === null);  // missing values last in either direction
      } else {
        c = sign * (numeric ? a - b : a.localeCompare(b, "en", {numeric: true}));
      }
      return c || ranks[x] - ranks[y];
    });
    order.forEach(function (i) { tbody.appendChild(trs[i]); });
    heads.forEach(function (h) {
      if (h === th) { h.setAttribute("aria-sort", dir); } else { h.removeAttribute("aria-sort"); }
    });
    sorted = {col: name, dir: dir};
  }

  // over a budget at the precision the budget is written with (leaderboard.exceeds): 11.773 is within 11.77
  function places(v) {
    var m = /^-?\d*(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(v));
    return m ? Math.max(0, (m[1] ? m[1].length : 0) - (m[2] ? parseInt(m[2], 10) : 0)) : 20;
  }
  function exceeds(used, limit) {
    return Number(used.toFixed(Math.min(places(limit), 100))) > limit;
  }

  function rerank(b) {
    var scores = data.rows.map(function (r) { return c3(r, b); });
    var order = data.rows.map(function (_, i) { return i; });
    // the same order as score_table: C3 descending, then method name, then first appearance
    order.sort(function (x, y) {
      var rx = data.rows[x], ry = data.rows[y];
      return (scores[y] - scores[x]) || (rx.method_order - ry.method_order) || (rx.seq - ry.seq);
    });
    order.forEach(function (i, pos) { ranks[i] = pos + 1; });
    data.rows.forEach(function (r, i) {
      setNumber(cell(i, "rank"), String(ranks[i]), ranks[i]);
      setNumber(cell(i, "c3"), scores[i].toFixed(4), scores[i]);
      var over = [];
      if (exceeds(r.max_gb, b.bmax)) { over.push("bandwidth"); }
      if (exceeds(r.max_tflops, b.cmax)) { over.push("compute"); }
      var mark = cell(i, "status").querySelector(".over");
      mark.textContent = over.length ? "over budget (" + over.join(", ") + ")" : "";
      mark.hidden = over.length === 0;
    });
    sortBy("rank", "ascending");
  }

  function read() {
    var b = {}, ok = true;
    keys.forEach(function (k) {
      var input = form.elements[k];
      var v = Number(input.value);
      var good = input.value.trim() !== "" && isFinite(v) && v > 0;
      input.setAttribute("aria-invalid", good ? "false" : "true");
      ok = ok && good;
      b[k] = v;
    });
    return ok ? b : null;
  }

  function describe(b) {
    return keys.map(function (k) { return names[k] + " = " + b[k] + units[k]; }).join(", ");
  }

  function update() {
    var b = read();
    if (b === null) {
      note.textContent = "Each budget and the temperature must be a positive number; the table is unchanged.";
      note.className = "note custom";
      return;
    }
    rerank(b);
    var own = keys.every(function (k) { return b[k] === data.board[k]; });
    note.className = own ? "note" : "note custom";
    note.textContent = own ? "Ranked under the board's declared budgets."
      : "Re-ranked in your browser under " + describe(b) + "; the board itself ranks under " +
        describe(data.board) + ".";
  }

  heads.forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var name = th.dataset.col;
      sortBy(name, sorted.col === name && sorted.dir === "ascending" ? "descending" : "ascending");
    });
  });
  form.addEventListener("input", update);
  form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
  form.addEventListener("reset", function (event) {
    event.preventDefault();
    keys.forEach(function (k) { form.elements[k].value = form.elements[k].dataset.default; });
    update();
  });
  document.querySelector("section.controls").hidden = false;
})();
