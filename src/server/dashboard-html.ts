/**
 * The web dashboard: one self-contained page served at /dashboard. It polls /dashboard/status on
 * this member, learns the other members' client URLs from it, and polls theirs too, so it keeps
 * showing the cluster while members come and go (a member that stops answering turns red).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulwark dashboard</title>
<style>
  :root { --bg:#0f1419; --panel:#182028; --text:#d8dee4; --dim:#8a96a3; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --lead:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
  header { padding:14px 22px; border-bottom:1px solid #26313c; display:flex; gap:18px; align-items:baseline; flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  header .meta { color:var(--dim); }
  main { padding:18px 22px; }
  .grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(300px, 1fr)); gap:14px; }
  .card { background:var(--panel); border-radius:8px; padding:14px 16px; border:2px solid transparent; }
  .card.leader { border-color:var(--lead); }
  .card.down { border-color:var(--bad); opacity:.75; }
  .card h2 { margin:0 0 6px; font-size:15px; display:flex; justify-content:space-between; }
  .badge { font-size:11px; padding:2px 8px; border-radius:10px; background:#26313c; color:var(--dim); text-transform:uppercase; letter-spacing:.04em; }
  .badge.leader { background:var(--lead); color:#04111f; }
  .badge.down { background:var(--bad); color:#fff; }
  .badge.learner { background:var(--warn); color:#111; }
  table { width:100%; border-collapse:collapse; }
  td { padding:2px 0; vertical-align:top; }
  td:first-child { color:var(--dim); width:46%; }
  .alarm { color:var(--bad); font-weight:600; }
  .ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
  section { margin-top:22px; }
  section h3 { font-size:14px; color:var(--dim); font-weight:600; margin:0 0 8px; }
  #events { background:var(--panel); border-radius:8px; padding:10px 14px; max-height:240px; overflow:auto; font-family:ui-monospace, monospace; font-size:12px; }
  .bar { height:6px; background:#26313c; border-radius:3px; overflow:hidden; margin-top:3px; }
  .bar > div { height:100%; background:var(--lead); }
</style>
</head>
<body>
<header>
  <h1>Bulwark</h1>
  <span class="meta" id="cluster">connecting…</span>
  <span class="meta" id="updated"></span>
</header>
<main>
  <div class="grid" id="members"></div>
  <section><h3>Events</h3><div id="events"></div></section>
</main>
<script>
"use strict";
const self = location.origin;
const known = new Map();      // client URL -> last status (or null when unreachable)
const events = [];
let lastLeader = null;

function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
function note(text) {
  events.unshift(new Date().toLocaleTimeString() + "  " + text);
  events.length = Math.min(events.length, 200);
  document.getElementById("events").innerHTML = events.map(esc).join("<br>");
}
function bytes(n) {
  if (n == null) return "–";
  const u = ["B", "KiB", "MiB", "GiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}
async function fetchStatus(url) {
  try {
    const r = await fetch(url + "/dashboard/status", { signal: AbortSignal.timeout(1500) });
    if (!r.ok) throw new Error(r.status);
    return await r.json();
  } catch { return null; }
}
function row(k, v) { return "<tr><td>" + esc(k) + "</td><td>" + v + "</td></tr>"; }
function card(url, s) {
  if (!s) return '<div class="card down"><h2>' + esc(url) + ' <span class="badge down">unreachable</span></h2></div>';
  const m = s.member, r = s.consensus, k = s.kv;
  const isLeader = r.role === "leader";
  const badge = isLeader ? '<span class="badge leader">leader</span>' : r.isLearner ? '<span class="badge learner">learner</span>' : '<span class="badge">' + esc(r.role) + "</span>";
  let html = '<div class="card' + (isLeader ? " leader" : "") + '"><h2>' + esc(m.name) + " " + badge + "</h2><table>";
  html += row("member id", "<code>" + esc(m.id) + "</code>");
  html += row("client", esc(url));
  html += row("protocol / term", esc(r.protocol) + " / " + esc(r.term));
  html += row("leader", r.leader ? "<code>" + esc(r.leader) + "</code>" : '<span class="bad">none</span>');
  html += row("commit / applied", esc(r.commitIndex) + " / " + esc(r.appliedIndex));
  html += row("revision", esc(k.revision) + (k.compactRevision ? " (compacted " + esc(k.compactRevision) + ")" : ""));
  html += row("keys / size", esc(k.keys) + " / " + bytes(k.sizeBytes));
  html += row("uptime", Math.round(s.uptimeS) + " s");
  if (s.storage && s.storage.volume) {
    const v = s.storage.volume;
    html += row("RAID-" + esc(v.level), '<span class="' + (v.degraded ? "warn" : "ok") + '">' + esc(v.state) + "</span>" + (v.rebuildProgress != null ? '<div class="bar"><div style="width:' + (100 * v.rebuildProgress).toFixed(1) + '%"></div></div>' : ""));
  }
  for (const a of s.alarms || []) html += row("alarm", '<span class="alarm">' + esc(a.alarm) + " on " + esc(a.memberId) + "</span>");
  if (isLeader && r.progress) {
    for (const p of r.progress) {
      const lag = r.lastIndex - p.match;
      html += row("→ " + p.node.slice(0, 8), esc(p.state) + ", match " + esc(p.match) + (lag > 0 ? ' <span class="warn">(-' + lag + ")</span>" : ""));
    }
  }
  for (const p of s.peers || []) {
    html += row("peer " + p.id.slice(0, 8), (p.connected ? '<span class="ok">up</span>' : '<span class="bad">down</span>') + (p.rttMs != null ? " " + p.rttMs.toFixed(2) + " ms" : "") + (p.address ? " via " + esc(p.address) : ""));
  }
  return html + "</table></div>";
}
async function poll() {
  if (!known.has(self)) known.set(self, null);
  const urls = [...known.keys()];
  const results = await Promise.all(urls.map(fetchStatus));
  urls.forEach((u, i) => {
    const prev = known.get(u), cur = results[i];
    if (prev && !cur) note(u + " stopped answering");
    if (!prev && cur && prev !== undefined) note(u + " is answering");
    known.set(u, cur);
    if (cur) for (const m of cur.cluster.members) for (const c of m.clientUrls) if (!known.has(c)) known.set(c, undefined);
  });
  const any = results.find((x) => x);
  if (any) {
    const leader = results.filter((x) => x && x.consensus.role === "leader").map((x) => x.member.name)[0] || null;
    if (leader !== lastLeader) { note("leader: " + (leader || "none")); lastLeader = leader; }
    document.getElementById("cluster").textContent = "cluster " + any.cluster.id + " · " + any.cluster.members.length + " members · " + any.consensus.protocol;
  }
  document.getElementById("members").innerHTML = [...known].map(([u, s]) => card(u, s)).join("");
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
}
poll(); setInterval(poll, 1000);
</script>
</body>
</html>
`;
