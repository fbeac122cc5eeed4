/** The page's only stylesheet, inline: system fonts, nothing fetched. */
export const STYLE = `
:root { --fg:#1d2330; --muted:#6b7385; --line:#e3e6ec; --bg:#f6f7f9; --card:#fff; --accent:#2f6fde; --bad:#d23c3c; --ok:#3a9a5b; --warn:#d98a1c; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#18202f; color:#fff; padding:16px 28px; display:flex; align-items:baseline; gap:18px; flex-wrap:wrap; }
header h1 { font-size:19px; margin:0; font-weight:600; }
header .src { color:#aeb7c8; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; }
nav { display:flex; gap:14px; margin-left:auto; }
nav a { color:#cfd8ea; text-decoration:none; font-size:13px; }
nav a:hover { color:#fff; }
main { padding:8px 28px 40px; max-width:1240px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 18px; margin:16px 0; }
h2 { font-size:16px; margin:0 0 10px; font-weight:600; }
h2 small, th small { color:var(--muted); font-weight:400; font-size:12px; margin-left:6px; }
.cards { display:flex; gap:12px; flex-wrap:wrap; }
.card { border:1px solid var(--line); border-radius:8px; padding:8px 14px; min-width:120px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:22px; font-weight:600; }
.card .value small { font-size:12px; font-weight:400; color:var(--muted); }
.card.bad .value { color:var(--bad); }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; margin:12px 0 0; }
.facts dt { color:var(--muted); }
.facts dd { margin:0; }
.chip { display:inline-block; border:1px solid var(--line); border-radius:12px; padding:0 8px; margin:1px 2px; font-size:12.5px; }
.chip.bad { border-color:#f0c2c2; color:var(--bad); }
.bad { color:var(--bad); }
.note { color:var(--muted); font-size:12.5px; margin:6px 0 0; }
table.grid { border-collapse:collapse; width:100%; font-size:13px; }
.grid th { text-align:left; color:var(--muted); font-weight:500; border-bottom:1px solid var(--line); padding:4px 8px; white-space:nowrap; }
.grid td { border-bottom:1px solid #f0f2f5; padding:3px 8px; vertical-align:middle; }
.grid .n { text-align:right; font-variant-numeric:tabular-nums; }
.grid td.msg { color:var(--muted); max-width:320px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
tr.opens { cursor:pointer; }
tr.opens:hover td { background:#f3f6fd; }
svg.hist rect { fill:var(--accent); opacity:.8; }
svg.hist line { stroke:var(--line); }
.scroll { overflow-x:auto; }
svg text { font-size:11.5px; fill:var(--fg); }
.lane-bg { fill:#fafbfc; stroke:#eef0f3; }
.pod-name { font-weight:600; }
.ctr-name { fill:var(--muted); }
.tick { stroke:#eef0f3; }
.tick-label, .axis-label { fill:var(--muted); font-size:10.5px; }
.bar { fill:#8fa3bf; cursor:pointer; }
.bar.m-RunPodSandbox, .bar.m-CreateContainer, .bar.m-StartContainer, .sw.m-RunPodSandbox { fill:var(--ok); background:var(--ok); }
.bar.m-StopPodSandbox, .bar.m-RemovePodSandbox, .bar.m-StopContainer, .bar.m-RemoveContainer, .sw.m-StopContainer { fill:var(--warn); background:var(--warn); }
.bar.err, .sw.err { fill:var(--bad); background:var(--bad); }
.bar:hover { stroke:#18202f; stroke-width:1.5; }
.ready { stroke:var(--accent); stroke-width:2; }
.ready-label { fill:var(--accent); font-size:11px; }
.legend { font-size:12px; color:var(--muted); margin-bottom:6px; display:flex; gap:6px; align-items:center; flex-wrap:wrap; }
.sw { display:inline-block; width:14px; height:9px; border-radius:2px; background:#8fa3bf; margin-left:8px; }
.sw.ready { height:2px; background:var(--accent); }
.actor { fill:#eef3fc; stroke:#b9cbef; }
.actor-label { text-anchor:middle; font-weight:600; }
.lifeline { stroke:#c9d1de; stroke-dasharray:4 4; }
.step { cursor:pointer; }
.step .hit { fill:transparent; }
.step:hover .hit, .step.selected .hit { fill:#f1f5fd; }
.step .req { stroke:#3d4a63; stroke-width:1.4; }
.step .res { stroke:#3d4a63; stroke-width:1.1; stroke-dasharray:5 3; }
.step.err .res, .step.err .res-label { stroke:var(--bad); fill:var(--bad); }
.step .tap { fill:var(--accent); }
.step .t { fill:var(--muted); font-size:10.5px; }
.call-label { text-anchor:middle; font-weight:600; }
.call-label .ctr { fill:var(--muted); font-weight:400; }
.res-label { text-anchor:middle; fill:var(--muted); font-size:11px; }
marker path { fill:#3d4a63; }
#seq-pod { margin:0 0 8px 6px; font:inherit; }
figure { margin:8px 0; }
figcaption { color:var(--muted); font-size:12px; }
.pleg-duration line.ok, .pleg-gap line.ok { stroke:var(--accent); stroke-width:2; }
line.slow { stroke:var(--bad); stroke-width:2.5; }
circle.slow { fill:var(--bad); }
circle.peak { fill:#9aa6ba; }
.axis { stroke:#c9d1de; }
.threshold { stroke:var(--bad); stroke-dasharray:6 4; opacity:.7; }
.threshold-label { fill:var(--bad); text-anchor:end; font-size:10.5px; }
#details { position:fixed; top:0; right:0; bottom:0; width:min(560px,92vw); background:#fff; border-left:1px solid var(--line); box-shadow:-8px 0 24px rgba(20,30,50,.12); padding:16px 18px; overflow:auto; }
#details[hidden] { display:none; }
#details h3 { margin:0 0 4px; font-size:15px; }
#details .meta { color:var(--muted); font-size:12.5px; margin-bottom:8px; }
#details h4 { margin:12px 0 4px; font-size:13px; color:var(--muted); font-weight:500; }
#details pre { background:#f6f8fb; border:1px solid var(--line); border-radius:6px; padding:8px 10px; font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace; white-space:pre-wrap; word-break:break-all; margin:0; }
#details button { float:right; border:1px solid var(--line); background:#fff; border-radius:6px; padding:2px 10px; cursor:pointer; font:inherit; }
details { margin:4px 0; }
details summary { cursor:pointer; padding:3px 0; }
details table { margin:4px 0 10px; }
.good { color:var(--ok); }
svg.per-pod .shared { display:none; }
.toggle { font-size:12.5px; color:var(--muted); display:block; margin:2px 0 6px; }
footer { color:var(--muted); font-size:12px; padding:0 28px 24px; }
`;
