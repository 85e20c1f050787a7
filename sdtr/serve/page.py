"""The single HTML page of the search app: one self-contained file (no
external scripts, styles or fonts: it works offline).

The script calls the JSON API of :mod:`sdtr.serve.app`.  The current query
lives in the address (``?mode=text&q=...&k=10``,
``?mode=row&row=5&target=captions&k=10``; an uploaded image cannot be put in
an address, it is kept in the page's history entry), so a search can be
shared and the back and forward buttons step through the searches.  Results
are an ordered list ``#results`` of ``li.result`` items with ``data-rank``,
``data-index``, ``data-score`` and ``data-match`` (``true`` / ``false`` /
empty when unknown); a click on one searches with it.  ``body[data-settled]``
counts the searches shown or refused.
"""

PAGE = r'''<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sdtr search</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #d9dee7; --bg: #f5f7fa;
          --accent: #2f5bd3; --ok: #1e8e3e; --bad: #c5221f; }
  * { box-sizing: border-box; }
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
         margin: 0; color: var(--fg); background: var(--bg); }
  header { background: #fff; border-bottom: 1px solid var(--line);
           padding: .8rem 1.5rem; display: flex; align-items: baseline;
           gap: 1rem; flex-wrap: wrap; }
  h1 { font-size: 1.25rem; margin: 0; }
  #info { color: var(--muted); font-size: .85rem; }
  main { padding: 1rem 1.5rem 2rem; }
  .panels { display: flex; gap: 1rem; flex-wrap: wrap; }
  fieldset { flex: 1 1 24rem; background: #fff; border: 1px solid var(--line);
             border-radius: 8px; padding: .6rem .9rem .8rem; margin: 0; }
  fieldset:disabled { opacity: .5; }
  legend { font-weight: 600; padding: 0 .3rem; line-height: 1.8rem; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
  input[type=text] { flex: 1 1 18rem; font-size: 1rem; padding: .45rem .6rem;
                     border: 1px solid #b8c0cc; border-radius: 6px; }
  input[type=number] { width: 4.5rem; padding: .4rem; border-radius: 6px;
                       border: 1px solid #b8c0cc; }
  input[type=file] { flex: 1 1 14rem; font-size: .9rem; }
  select { font: inherit; padding: 0 .2rem; border-radius: 4px;
           border: 1px solid #b8c0cc; background: #fff; }
  label { font-size: .85rem; color: var(--muted); }
  .limit { font-size: .75rem; color: var(--muted); }
  button { padding: .45rem 1rem; font-size: 1rem; cursor: pointer;
           border: 0; border-radius: 6px; background: var(--accent);
           color: #fff; }
  button:hover { filter: brightness(1.1); }
  #query-view { display: flex; gap: .8rem; align-items: center;
                margin: 1rem 0 .2rem; min-height: 1.5rem; }
  #query-view img { width: 6rem; height: 6rem; object-fit: contain;
                    border: 1px solid var(--line); border-radius: 6px;
                    background: #fff; image-rendering: pixelated; }
  #query-view .what { color: var(--muted); font-size: .8rem; }
  #query-view .text { font-size: 1.05rem; }
  #status { min-height: 1.3rem; margin: .3rem 0 .8rem; color: var(--muted);
            font-size: .9rem; }
  #status.error { color: var(--bad); font-weight: 600; }
  #results { list-style: none; padding: 0; margin: 0; display: grid;
             grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr));
             gap: .9rem; }
  #results.captions { display: block; }
  .result { background: #fff; border: 1px solid var(--line);
            border-radius: 8px; padding: .45rem; cursor: pointer;
            position: relative; transition: box-shadow .1s; }
  .result:hover, .result:focus { box-shadow: 0 2px 8px rgba(0,0,0,.15);
                                 outline: none; }
  .result.match { border: 2px solid var(--ok); }
  .result.miss { border-color: #f0b8b6; }
  .result img { display: block; width: 100%; aspect-ratio: 1; height: auto;
                object-fit: contain; image-rendering: pixelated;
                background: #eef1f5; border-radius: 4px; }
  .head { display: flex; justify-content: space-between; align-items: center;
          font-size: .8rem; margin: .35rem 0 .15rem; }
  .rank { font-weight: 700; }
  .score { color: var(--muted); font-variant-numeric: tabular-nums; }
  .mark { font-size: .72rem; font-weight: 700; padding: .05rem .4rem;
          border-radius: 999px; }
  .match .mark { background: #e3f4e8; color: var(--ok); }
  .miss .mark { background: #fce8e6; color: var(--bad); }
  .caption { font-size: .85rem; line-height: 1.3; }
  .name { font-size: .72rem; color: var(--muted); word-break: break-all; }
  .more { font-size: .75rem; color: var(--muted); }
  .more summary { cursor: pointer; }
  .more ul { margin: .2rem 0 0 1rem; padding: 0; }
  #results.captions .result { display: flex; gap: .8rem; align-items: baseline;
                              margin-bottom: .45rem; padding: .5rem .8rem; }
  #results.captions .head { margin: 0; gap: .6rem; flex: 0 0 auto; }
  #results.captions .name { font-size: .95rem; color: var(--fg);
                            word-break: normal; flex: 1; }
</style>
</head>
<body>
<header><h1>sdtr search</h1><div id="info">loading...</div></header>
<main>
<div class="panels">
<fieldset id="text-box">
  <legend>Text &rarr; images</legend>
  <form id="text-form" novalidate>
    <input type="text" id="query" name="q" autocomplete="off"
           placeholder="describe it, e.g. many planes near a terminal">
    <label>top-k
      <input type="number" id="text-topk" min="1" value="10"></label>
    <button type="submit" id="search-btn">Search</button>
  </form>
  <div class="limit" id="text-limit"></div>
</fieldset>
<fieldset id="image-box">
  <legend>Image &rarr; <select id="image-target" aria-label="search for">
    <option value="captions">captions</option>
    <option value="images">images</option></select></legend>
  <form id="image-form" novalidate>
    <input type="file" id="image" name="file" accept="image/*">
    <label>top-k
      <input type="number" id="image-topk" min="1" value="10"></label>
    <button type="submit" id="upload-btn">Search</button>
  </form>
  <div class="limit" id="image-limit"></div>
</fieldset>
</div>
<div id="query-view"></div>
<div id="status" role="status"></div>
<ol id="results"></ol>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let info = null, uploads = new Map(), serial = 0, current = null;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
const mib = (n) => (n / 1048576).toFixed(1) + " MiB";
function status(msg, error) {
  $("status").textContent = msg;
  $("status").className = error ? "error" : "";
}
function clearResults() {
  $("results").innerHTML = "";
  $("query-view").innerHTML = "";
}
function settle() {  // one more search shown (or refused): tests wait on it
  const data = document.body.dataset;
  data.settled = String(Number(data.settled || 0) + 1);
}
function fail(msg) { clearResults(); status(msg, true); settle(); }

// ---- the address <-> a search
function toURL(s) {
  const p = new URLSearchParams({mode: s.mode});
  if (s.mode === "text") p.set("q", s.q);
  if (s.mode === "row") p.set("row", s.row);
  if (s.mode !== "text") p.set("target", s.target);
  p.set("k", s.k);
  return "?" + p.toString();
}
function fromURL() {
  const p = new URLSearchParams(location.search);
  const mode = p.get("mode");
  if (!mode) return null;
  return {mode: mode, q: p.get("q") || "", row: p.get("row"),
          target: p.get("target") || defaultTarget(), k: p.get("k") || "10"};
}
function defaultTarget() {
  return info && info.text_gallery ? "captions" : "images";
}
function same(a, b) {
  return a && b && toURL(a) === toURL(b) && a.upload === b.upload;
}

// ---- running a search
async function call(url, opts) {
  let resp;
  try { resp = await fetch(url, opts); }
  catch (e) {
    throw new Error("the server did not answer (is it still running?)");
  }
  const text = await resp.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  if (resp.status === 413)
    throw new Error("the upload is larger than this server accepts (" +
                    mib(info.max_upload_bytes) + ")");
  if (!resp.ok) {
    let detail = body && body.detail !== undefined ? body.detail : text;
    if (typeof detail !== "string") detail = JSON.stringify(detail);
    throw new Error(detail || resp.status + " " + resp.statusText);
  }
  return body;
}
function request(s) {
  const k = encodeURIComponent(s.k);
  if (s.mode === "text")
    return ["/api/search/text?q=" + encodeURIComponent(s.q) + "&topk=" + k];
  const tail = "?topk=" + k + "&target=" + encodeURIComponent(s.target);
  if (s.mode === "row")
    return ["/api/search/image/" + encodeURIComponent(s.row) + tail];
  const form = new FormData();
  form.append("file", uploads.get(s.upload));
  return ["/api/search/image" + tail, {method: "POST", body: form}];
}
function showForms(s) {  // the forms say what is shown (back button too)
  if (s.mode === "text") {
    $("query").value = s.q;
    $("text-topk").value = s.k;
  }
  else { $("image-target").value = s.target; $("image-topk").value = s.k; }
}
async function run(s, push) {
  showForms(s);
  if (s.mode === "upload" && !uploads.has(s.upload)) {
    fail("an uploaded image is not kept in the address: upload it again");
    return;
  }
  if (!["text", "row", "upload"].includes(s.mode)) {
    fail("unknown search mode " + JSON.stringify(s.mode) + " in the address");
    return;
  }
  if (push && !same(s, current)) history.pushState(s, "", toURL(s));
  current = s;
  const mine = ++serial;
  clearResults();
  status("searching...");
  try {
    const data = await call(...request(s));
    if (mine === serial) show(s, data);
  } catch (e) {
    if (mine === serial) fail(e.message);
  }
}

// ---- rendering
function showQuery(s, data) {
  const view = $("query-view");
  if (s.mode === "text") {
    view.append(el("div", "what", "caption"),
                el("div", "text", "\u201c" + s.q + "\u201d"));
    return;
  }
  const img = el("img");
  img.id = "query-image";
  img.alt = "query image";
  img.src = s.mode === "upload" ? URL.createObjectURL(uploads.get(s.upload))
                                : data.query.image_url;
  const box = el("div");
  const what = s.mode === "upload" ? "uploaded image"
                                   : "gallery image #" + s.row;
  box.append(el("div", "what", what),
             el("div", "text", data.query.name));
  view.append(img, box);
}
function mark(li, match) {
  li.dataset.match = match === null ? "" : String(match);
  if (match === null) return null;
  li.classList.add(match ? "match" : "miss");
  return el("span", "mark", match ? "\u2713 match" : "\u2717");
}
function head(r, li) {
  const h = el("div", "head");
  h.append(el("span", "rank", "#" + r.rank),
           el("span", "score", r.score.toFixed(3)));
  const m = mark(li, r.match);
  if (m) h.append(m);
  return h;
}
function imageCard(r) {
  const li = el("li", "result image");
  const img = el("img");
  img.src = r.image_url;
  img.alt = r.item;
  img.loading = "lazy";
  li.append(img, head(r, li));
  if (r.captions.length) {
    li.append(el("div", "caption", r.captions[0]));
    if (r.captions.length > 1) {
      const more = el("details", "more");
      const n = r.captions.length - 1;
      more.append(el("summary", "", n + " more caption" + (n > 1 ? "s" : "")));
      const list = el("ul");
      for (const c of r.captions.slice(1)) list.append(el("li", "", c));
      more.append(list);
      more.addEventListener("click", (ev) => ev.stopPropagation());
      li.append(more);
    }
  }
  li.append(el("div", "name", r.item));
  li.title = "search with this image";
  li.addEventListener("click", () => run({mode: "row", row: String(r.index),
    target: $("image-target").value, k: $("image-topk").value}, true));
  return li;
}
function captionRow(r) {
  const li = el("li", "result caption");
  li.append(head(r, li), el("div", "name", r.item));
  li.title = "search with this caption";
  li.addEventListener("click", () => run({mode: "text", q: r.item,
    k: $("text-topk").value}, true));
  return li;
}
function show(s, data) {
  showQuery(s, data);
  const list = $("results");
  list.className = data.kind === "text" ? "captions" : "images";
  for (const r of data.results) {
    const li = data.kind === "text" ? captionRow(r) : imageCard(r);
    li.dataset.rank = r.rank;
    li.dataset.index = r.index;
    li.dataset.score = r.score.toFixed(4);
    li.tabIndex = 0;
    li.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") li.click();
    });
    list.append(li);
  }
  const what = data.kind === "text" ? " captions" : " images";
  let msg = data.results.length + what + " in " + data.ms.toFixed(0) + " ms";
  if (data.matches !== null)
    msg += " \u00b7 " + data.matches + " true match" +
           (data.matches === 1 ? "" : "es") + " (" + info.annotations.name +
           ")";
  status(msg);
  settle();
}

// ---- forms, history, start
$("text-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("query").value;
  if (!q.trim()) { fail("type a description first"); return; }
  run({mode: "text", q: q, k: $("text-topk").value}, true);
});
$("image-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const file = $("image").files[0];
  if (!file) { fail("choose an image first"); return; }
  if (file.size > info.max_upload_bytes) {
    fail(file.name + " is " + mib(file.size) + "; this server accepts " +
         "at most " + mib(info.max_upload_bytes));
    return;
  }
  const id = "u" + (uploads.size + 1);
  uploads.set(id, file);
  run({mode: "upload", upload: id, target: $("image-target").value,
       k: $("image-topk").value}, true);
});
window.addEventListener("popstate", (ev) => {
  const s = ev.state || fromURL();
  if (s) { current = s; run(s, false); }
  else { current = null; clearResults(); status(""); }
});
call("/api/info").then((data) => {
  info = data;
  const parts = [info.model];
  const size = (g, what) => g.count + " " + what + " (" + g.index_type + ")";
  if (info.image_gallery) parts.push(size(info.image_gallery, "images"));
  if (info.text_gallery) parts.push(size(info.text_gallery, "captions"));
  if (info.annotations)
    parts.push("captions and true matches from " + info.annotations.name);
  $("info").textContent = parts.join(" \u00b7 ");
  for (const id of ["text-topk", "image-topk"]) $(id).max = info.max_topk;
  const limit = "top-k at most " + info.max_topk;
  $("text-limit").textContent = limit;
  $("image-limit").textContent = limit + "; images up to " +
    mib(info.max_upload_bytes) + " and " +
    (info.max_pixels / 1e6).toFixed(1) + " megapixels";
  if (!info.image_gallery) {
    $("text-box").disabled = true;
    $("image-target").querySelector("[value=images]").disabled = true;
  }
  if (!info.text_gallery)
    $("image-target").querySelector("[value=captions]").disabled = true;
  $("image-target").value = defaultTarget();
  const s = fromURL();
  if (s) { history.replaceState(s, "", toURL(s)); current = s; run(s, false); }
  document.body.dataset.ready = "1";
}).catch((e) => status(e.message, true));
</script>
</body>
</html>
'''
