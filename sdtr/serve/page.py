"""The single HTML page of the search app (no external scripts or fonts:
it works offline).  The script calls the JSON API of :mod:`sdtr.serve.app`
and renders the ranked results in an ordered list ``#results``; every result
is an ``li.result`` with ``data-rank``, ``data-index`` and ``data-score``."""

PAGE = r'''<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sdtr search</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem 0; }
  #info { color: #666; font-size: .85rem; margin-bottom: 1rem; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center;
         margin-bottom: .6rem; }
  input[type=text] { flex: 1 1 28rem; font-size: 1rem; padding: .4rem; }
  input[type=number] { width: 4rem; padding: .35rem; }
  button { padding: .4rem .9rem; font-size: 1rem; cursor: pointer; }
  #status { min-height: 1.3rem; margin: .5rem 0; }
  #status.error { color: #b00020; font-weight: 600; }
  #results { list-style: none; padding: 0; display: flex; flex-wrap: wrap;
             gap: .8rem; }
  #results.captions { display: block; }
  .result { border: 1px solid #ddd; border-radius: 6px; padding: .4rem;
            background: #fafafa; }
  #results:not(.captions) .result { width: 11rem; }
  .result img { width: 100%; height: 10rem; object-fit: contain;
                image-rendering: pixelated; background: #fff; }
  .result .meta { font-size: .8rem; word-break: break-all; }
  .result .rank { font-weight: 700; }
  #results.captions .result { margin-bottom: .4rem; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin-bottom: 1rem; }
  legend { font-weight: 600; }
</style>
</head>
<body>
<h1>sdtr search</h1>
<div id="info">loading...</div>
<fieldset id="text-box">
  <legend>Text &rarr; images</legend>
  <form id="text-form">
    <input type="text" id="query" name="q" autocomplete="off"
           placeholder="describe the image, e.g. many planes are parked near a terminal">
    <label>top-k <input type="number" id="topk" min="1" value="10"></label>
    <button type="submit" id="search-btn">Search</button>
  </form>
</fieldset>
<fieldset id="image-box">
  <legend>Image &rarr; captions</legend>
  <form id="image-form">
    <input type="file" id="image" name="file" accept="image/*">
    <button type="submit" id="upload-btn">Find captions</button>
  </form>
</fieldset>
<div id="status" role="status"></div>
<ol id="results"></ol>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function status(msg, error) {
  $("status").textContent = msg;
  $("status").className = error ? "error" : "";
}
async function call(url, opts) {
  const resp = await fetch(url, opts);
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (!resp.ok) {
    const detail = body && body.detail ? body.detail : resp.statusText;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return body;
}
function show(data, captions) {
  const list = $("results");
  list.innerHTML = "";
  list.className = captions ? "captions" : "";
  for (const r of data.results) {
    const li = document.createElement("li");
    li.className = "result";
    li.dataset.rank = r.rank;
    li.dataset.index = r.index;
    li.dataset.score = r.score.toFixed(4);
    if (!captions) {
      const img = document.createElement("img");
      img.src = r.image_url;
      img.alt = r.name;
      li.appendChild(img);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = "#" + r.rank + " ";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = r.score.toFixed(4) + " ";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = captions ? r.item : r.name;
    meta.append(rank, score, name);
    li.appendChild(meta);
    list.appendChild(li);
  }
  status(data.results.length + " results in " + data.ms.toFixed(0) + " ms");
}
$("text-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("query").value;
  if (!q.trim()) { status("type a description first", true); return; }
  status("searching...");
  try {
    const data = await call("/api/search/text", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({query: q, topk: parseInt($("topk").value || "10")})});
    show(data, false);
  } catch (e) { $("results").innerHTML = ""; status(e.message, true); }
});
$("image-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("image").files[0];
  if (!file) { status("choose an image first", true); return; }
  const form = new FormData();
  form.append("file", file);
  status("searching...");
  try {
    const data = await call("/api/search/image?topk=" +
                            parseInt($("topk").value || "10"),
                            {method: "POST", body: form});
    show(data, true);
  } catch (e) { $("results").innerHTML = ""; status(e.message, true); }
});
call("/api/info").then((info) => {
  const parts = [info.model];
  if (info.image_gallery) parts.push(info.image_gallery.count + " images (" +
                                     info.image_gallery.index_type + ")");
  if (info.text_gallery) parts.push(info.text_gallery.count + " captions (" +
                                    info.text_gallery.index_type + ")");
  $("info").textContent = parts.join(" | ");
  $("topk").max = info.max_topk;
  if (!info.image_gallery) $("text-box").disabled = true;
  if (!info.text_gallery) $("image-box").disabled = true;
  document.body.dataset.ready = "1";
}).catch((e) => status(e.message, true));
</script>
</body>
</html>
'''
