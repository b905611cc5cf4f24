/**
 * `ustack view`'s page: one self-contained HTML file — the model as JSON, the style and the
 * script inline, pictures drawn as inline SVG by the script — that works offline. Its
 * Content-Security-Policy (`default-src 'none'`) forbids every fetch, font, image or frame
 * from anywhere, so the page cannot reach the network even by mistake; the browser tests check
 * that no request leaves it.
 */
import { PAGE_SCRIPT } from './page-script.js';
import type { ViewModel } from './view-model.js';

/** The page's style: system fonts only (none is fetched), one colour per layer kind. */
const PAGE_STYLE = `
:root { --eth: #e8f0fe; --sll: #e8f0fe; --arp: #fff4d6; --ip: #e6f6ea; --ipv6: #e6f6ea; --icmp: #fde8e8; --udp: #fdf0e1; --tcp: #f1e8fd; --data: #f4f4f4; --padding: #eeeeee; }
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330; background: #fafbfc; }
header { padding: 10px 16px; background: #1d2330; color: #fff; }
header h1 { font-size: 16px; margin: 0; display: inline; }
header #summary { margin-left: 12px; color: #c9d1e0; }
section { padding: 10px 16px; }
h2 { font-size: 14px; margin: 8px 0; }
#frame-list-holder { max-height: 240px; overflow: auto; border: 1px solid #ccd; background: #fff; }
#frame-list { border-collapse: collapse; width: 100%; font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
#frame-list th { position: sticky; top: 0; background: #eef; text-align: left; padding: 2px 6px; }
#frame-list td { padding: 1px 6px; white-space: nowrap; }
#frame-list tr { cursor: pointer; }
#frame-list tr:hover { background: #eef3ff; }
#frame-list tr.selected { background: #2d5bd8; color: #fff; }
#frame-list tr.retransmission td { color: #b00020; }
#frame-list tr.retransmission.selected td { color: #fff; background: #b00020; }
#frame-detail { display: grid; grid-template-columns: minmax(0, 3fr) minmax(540px, 2fr); gap: 12px; margin-top: 10px; }
.frame-title { font-weight: 600; margin-bottom: 4px; }
.layer-box { border: 2px solid #889; border-radius: 6px; padding: 4px 6px 6px; margin: 4px 0; }
.layer-box .layer-box { margin-left: 10px; }
.layer-eth, .layer-sll, .layer-vlan { background: var(--eth); border-color: #5a7fd6; }
.layer-arp { background: var(--arp); border-color: #c9a227; }
.layer-ip, .layer-ipv6 { background: var(--ip); border-color: #3f9a57; }
.layer-icmp, .layer-icmpv6 { background: var(--icmp); border-color: #c94c4c; }
.layer-udp { background: var(--udp); border-color: #d98b2b; }
.layer-tcp { background: var(--tcp); border-color: #8a55d1; }
.layer-data { background: var(--data); border-color: #999; }
.layer-padding { background: var(--padding); border-color: #bbb; border-style: dashed; }
.layer-title { font-weight: 600; }
.layer-title .range { font-weight: 400; color: #667; margin-left: 6px; font-size: 11px; }
.header-bytes { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; margin: 2px 0; line-height: 1.7; }
.header-bytes.loose { color: #888; }
/* Inline, not inline-block: a 1514-byte frame is 4,500 of these, and inline boxes lay out far faster. */
.byte { padding: 0 1px; border-radius: 2px; cursor: default; }
/* Choosing a frame re-lays out its panels only, not the diagrams below. */
#tcp, #fragments { contain: layout paint style; }
#layers, #hexdump, #checksums { contain: content; }
/* More specific than the hex dump's layer colours, which they must win over. */
#frame-detail .byte.hl, #frame-detail .char.hl { background: #ffd400; color: #000; }
#frame-detail .byte.covered, #frame-detail .char.covered { background: #9fe0ff; }
.fields { display: flex; flex-wrap: wrap; gap: 3px; margin: 2px 0; }
.field { background: rgba(255,255,255,.75); border: 1px solid #aab; border-radius: 3px; padding: 0 4px; font-size: 12px; cursor: default; }
.field.problem { border-color: #b00020; color: #b00020; }
.field.hl-field { background: #ffd400; border-color: #a08000; }
.verdict.good { color: #17803a; font-weight: 600; }
.verdict.bad { color: #b00020; font-weight: 600; }
.note { color: #8a4b00; font-size: 12px; }
#hexdump { overflow-x: auto; font: 11px ui-monospace, "DejaVu Sans Mono", monospace; background: #fff; border: 1px solid #ccd; padding: 6px; margin-bottom: 10px; }
.hex-row { white-space: nowrap; }
.hex-offset { color: #889; margin-right: 8px; }
.hex-ascii { margin-left: 10px; }
.byte.in-eth, .byte.in-sll, .byte.in-vlan { background: var(--eth); }
.byte.in-arp { background: var(--arp); }
.byte.in-ip, .byte.in-ipv6 { background: var(--ip); }
.byte.in-icmp { background: var(--icmp); }
.byte.in-udp { background: var(--udp); }
.byte.in-tcp { background: var(--tcp); }
.byte.in-padding { background: var(--padding); }
.checksum { background: #fff; border: 1px solid #ccd; border-left: 4px solid #889; padding: 4px 8px; margin-bottom: 6px; }
.checksum.good { border-left-color: #17803a; }
.checksum.bad { border-left-color: #b00020; }
.pseudo-header { border-collapse: collapse; margin-top: 4px; font-size: 12px; }
.pseudo-header th, .pseudo-header td { border: 1px solid #ccd; padding: 1px 6px; text-align: center; }
.pseudo-bytes td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; color: #556; }
select { font: inherit; margin: 0 8px 6px 0; }
svg text { font: 11px system-ui, sans-serif; fill: #1d2330; }
svg .host { font-weight: 600; font-size: 12px; }
svg .lifeline { stroke: #889; stroke-width: 2; }
.ladder-segment line { stroke: #334; stroke-width: 1.3; }
.ladder-segment.kind-syn line, .ladder-segment.kind-fin line { stroke: #2d5bd8; }
.ladder-segment.kind-rst line { stroke: #b00020; stroke-dasharray: 4 2; }
.ladder-segment.kind-ack line { stroke: #3f9a57; }
.ladder-segment.retransmission line { stroke: #c0202a; stroke-width: 2.2; }
.ladder-segment.retransmission text { fill: #c0202a; font-weight: 600; }
.ladder-segment { cursor: pointer; }
.ladder-segment text.time { fill: #889; }
.tsg .axis { stroke: #334; }
.tsg .tick { fill: #556; font-size: 10px; }
.ts-segment line { stroke: #1d2330; stroke-width: 1.2; }
.ts-segment.retransmission line { stroke: #c0202a; stroke-width: 2; }
.ts-r { fill: #c0202a; font-weight: 700; font-size: 10px; }
.ts-ack { fill: none; stroke: #17803a; stroke-width: 1.2; }
.ts-window { fill: none; stroke: #c9a227; stroke-width: 1.2; }
.ts-sack { stroke: #8a55d1; stroke-width: 3; opacity: .7; }
.zoom-band { fill: rgba(45, 91, 216, .12); stroke: #2d5bd8; }
.tsg { cursor: crosshair; user-select: none; }
.ts-segment-key { stroke: #1d2330; stroke-width: 2; }
.ts-retransmission-key { stroke: #c0202a; stroke-width: 2; }
.ts-ack-key { stroke: #17803a; stroke-width: 2; }
.ts-window-key { stroke: #c9a227; stroke-width: 2; }
.ts-sack-key { stroke: #8a55d1; stroke-width: 3; }
.datagram-box { margin-bottom: 8px; }
.datagram-title { font-weight: 600; }
.datagram-outline { fill: #fff; stroke: #889; }
.fragment-gap { fill: #fde8e8; stroke: #b00020; stroke-dasharray: 3 2; }
.piece-0 { fill: #cfe3ff; stroke: #2d5bd8; } .piece-1 { fill: #d7f3de; stroke: #3f9a57; }
.piece-2 { fill: #ffe9c7; stroke: #d98b2b; } .piece-3 { fill: #eadcff; stroke: #8a55d1; }
.fragment-piece { cursor: pointer; }
`;

/** Makes `text` safe inside an HTML text node or attribute. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * JSON for a `<script type="application/json">` block: `<` written as `\u003c`, so no string in
 * the capture (a payload holding `</script>`) can end the block early; U+2028/9 likewise.
 */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The whole page for `model`. */
export function renderViewHtml(model: ViewModel): string {
  const title = `ustack view — ${model.title}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><span id="summary"></span></header>
<section id="frames">
<h2>Frames</h2>
<div id="frame-list-holder"><table id="frame-list"><thead><tr><th>No.</th><th>Time</th><th>Source</th><th>Destination</th><th>Protocol</th><th>Length</th><th>Info</th></tr></thead><tbody></tbody></table></div>
<div id="frame-detail">
<div><h2>Layers (point at a field to see its bytes, at a byte to see its field)</h2><div id="layers"></div></div>
<div><h2>Bytes</h2><div id="hexdump"></div><h2>Checksums</h2><div id="checksums"></div></div>
</div>
</section>
<section id="tcp">
<h2>TCP connections</h2>
<div><select id="connection-picker" aria-label="connection"></select><select id="direction-picker" aria-label="direction of the time–sequence graph"></select></div>
<h2>Ladder</h2><div id="ladder"></div>
<h2>Time–sequence graph (Stevens style: segments as bars, the ACK line, the receive window, SACKed ranges, retransmissions in red)</h2><div id="tsg"></div>
</section>
<section id="fragments">
<h2>Fragmented datagrams</h2>
</section>
<script type="application/json" id="model">${scriptJson(model)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
