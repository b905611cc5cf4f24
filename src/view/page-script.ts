/**
 * The script of `ustack view`'s page, as text: it reads the model (view-model.ts) from the
 * page's JSON block and draws it — the frame list; the chosen frame's layers as nested boxes
 * over its bytes, each labelled with its header's fields; a hex dump; the checksums with what
 * they cover; per TCP connection a ladder and a time–sequence graph; the fragmented datagrams.
 * Pointing at a field lights its bytes, pointing at a byte lights its fields.
 *
 * It is plain browser JavaScript (no modules, no libraries, nothing fetched), kept free of
 * backticks so that it can live in this template. Every element the browser tests look for
 * carries data-* attributes with the model's numbers (byte offsets, frame numbers), so a test
 * can compare what was drawn with what the dissector said.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('model').textContent);
  var SVG = 'http://www.w3.org/2000/svg';
  var current = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, String(attrs[key]));
    });
  }
  function append(node, children) {
    if (children === undefined || children === null) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === undefined || child === null) return;
      node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
    });
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }
  function bytesOf(frame) {
    var out = [];
    for (var i = 0; i < frame.hex.length; i += 2) out.push(frame.hex.substr(i, 2));
    return out;
  }
  function fmtTime(t) {
    return t.toFixed(6);
  }

  // ---- which frames are retransmissions (from the connections) ----
  var retransmitted = {};
  model.connections.forEach(function (c) {
    c.segments.forEach(function (s) {
      if (s.retransmission) retransmitted[s.frame] = true;
    });
  });

  // ---- the frame list ----
  function drawFrameList() {
    var body = document.querySelector('#frame-list tbody');
    model.frames.forEach(function (f) {
      var row = el('tr', { 'data-frame': f.number, class: 'proto-' + f.protocol.toLowerCase() + (retransmitted[f.number] ? ' retransmission' : '') }, [
        el('td', null, f.number),
        el('td', null, fmtTime(f.time)),
        el('td', null, f.source),
        el('td', null, f.destination),
        el('td', null, f.protocol),
        el('td', null, f.dissection.capturedLength),
        el('td', null, (retransmitted[f.number] ? '[retransmission] ' : '') + f.info),
      ]);
      row.addEventListener('click', function () {
        selectFrame(f.number);
      });
      body.appendChild(row);
    });
  }

  // ---- the layers of one frame, as nested boxes over its bytes ----
  function layerTree(layers) {
    var roots = [];
    var stack = [];
    layers.forEach(function (layer) {
      if (layer.layer === 'frame' || layer.layer === 'malformed') return;
      var node = { layer: layer, children: [] };
      while (stack.length > 0) {
        var top = stack[stack.length - 1].layer;
        var extent = Math.max(top.end, top.payloadEnd);
        if (layer.start >= top.payloadStart && layer.start < extent && layer !== top) break;
        stack.pop();
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(node);
      else roots.push(node);
      stack.push(node);
    });
    return roots;
  }

  function byteCell(bytes, offset) {
    return el('span', { class: 'byte', 'data-offset': offset }, bytes[offset]);
  }

  // A space after each cell: where a long header may wrap (inline cells have no break between them).
  function addCell(parent, bytes, offset) {
    parent.appendChild(byteCell(bytes, offset));
    parent.appendChild(document.createTextNode(' '));
  }

  function fieldChip(field) {
    var text = field.label + ': ' + (field.display !== undefined ? field.display : field.value);
    var attrs = { class: 'field' + (field.problem ? ' problem' : ''), title: field.name || field.label };
    if (field.name) attrs['data-name'] = field.name;
    if (field.start !== undefined) {
      attrs['data-start'] = field.start;
      attrs['data-end'] = field.end;
    }
    var children = [text];
    if (field.checksum) {
      var verdict = field.checksum.verdict;
      attrs['data-verdict'] = verdict;
      children.push(el('span', { class: 'verdict ' + verdict }, verdict === 'good' ? ' \u2713 verifies' : verdict === 'bad' ? ' \u2717 wrong' : ' (' + verdict + ')'));
    }
    return el('span', attrs, children);
  }

  function drawBox(node, bytes) {
    var layer = node.layer;
    var extent = Math.max(layer.end, layer.payloadEnd);
    var box = el('div', {
      class: 'layer-box layer-' + layer.layer,
      'data-layer': layer.layer,
      'data-depth': layer.depth,
      'data-start': layer.start,
      'data-end': layer.end,
      'data-payload-start': layer.payloadStart,
      'data-payload-end': layer.payloadEnd,
    });
    box.appendChild(el('div', { class: 'layer-title' }, [layer.title, el('span', { class: 'range' }, ' bytes ' + layer.start + '\u2013' + (extent - 1))]));
    var header = el('div', { class: 'header-bytes' });
    for (var i = layer.start; i < Math.min(layer.end, bytes.length); i++) addCell(header, bytes, i);
    if (header.childNodes.length > 0) box.appendChild(header);
    var fields = el('div', { class: 'fields' });
    layer.fields.forEach(function (field) {
      fields.appendChild(fieldChip(field));
    });
    box.appendChild(fields);
    layer.notes.forEach(function (note) {
      box.appendChild(el('div', { class: 'note' }, '! ' + note));
    });
    // The payload: the boxes of the layers inside it, and any bytes no inner layer claims.
    var at = Math.max(layer.end, layer.payloadStart);
    var loose = null;
    var flushLoose = function () {
      if (loose !== null) box.appendChild(loose);
      loose = null;
    };
    node.children.forEach(function (child) {
      for (; at < Math.min(child.layer.start, extent, bytes.length); at++) {
        if (loose === null) loose = el('div', { class: 'header-bytes loose' });
        addCell(loose, bytes, at);
      }
      flushLoose();
      box.appendChild(drawBox(child, bytes));
      at = Math.max(at, child.layer.end, child.layer.payloadEnd);
    });
    for (; at < Math.min(extent, bytes.length); at++) {
      if (loose === null) loose = el('div', { class: 'header-bytes loose' });
      addCell(loose, bytes, at);
    }
    flushLoose();
    return box;
  }

  function innermostLayerAt(layers, offset) {
    var found = null;
    layers.forEach(function (layer) {
      if (layer.layer === 'frame' || layer.layer === 'malformed') return;
      if (offset >= layer.start && offset < Math.max(layer.end, layer.payloadStart)) found = layer;
      else if (layer.layer === 'data' || layer.layer === 'padding') {
        if (offset >= layer.start && offset < layer.end) found = layer;
      }
    });
    return found;
  }

  function drawHexDump(frame, bytes) {
    var dump = document.getElementById('hexdump');
    clear(dump);
    for (var row = 0; row < bytes.length; row += 16) {
      var line = el('div', { class: 'hex-row' }, el('span', { class: 'hex-offset' }, ('000' + row.toString(16)).slice(-4)));
      var ascii = el('span', { class: 'hex-ascii' });
      for (var i = row; i < Math.min(row + 16, bytes.length); i++) {
        var layer = innermostLayerAt(frame.dissection.layers, i);
        var cell = byteCell(bytes, i);
        if (layer) cell.className += ' in-' + layer.layer;
        line.appendChild(cell);
        line.appendChild(document.createTextNode(' '));
        var code = parseInt(bytes[i], 16);
        ascii.appendChild(el('span', { class: 'char', 'data-offset': i }, code >= 32 && code < 127 ? String.fromCharCode(code) : '.'));
      }
      line.appendChild(ascii);
      dump.appendChild(line);
    }
  }

  function addressBytes(address) {
    if (address.indexOf('.') >= 0) {
      return address.split('.').map(function (part) {
        return ('0' + parseInt(part, 10).toString(16)).slice(-2);
      });
    }
    // IPv6: eight 16-bit groups, '::' standing for the zero groups it replaces.
    var halves = address.split('::');
    var head = halves[0] ? halves[0].split(':') : [];
    var tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
    var groups = head.concat(new Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), tail);
    var out = [];
    groups.forEach(function (group) {
      var word = ('0000' + group).slice(-4);
      out.push(word.slice(0, 2), word.slice(2));
    });
    return out;
  }
  function hex16(n) {
    return [('0' + ((n >> 8) & 255).toString(16)).slice(-2), ('0' + (n & 255).toString(16)).slice(-2)];
  }

  function drawChecksums(frame) {
    var panel = document.getElementById('checksums');
    clear(panel);
    var any = false;
    frame.dissection.layers.forEach(function (layer) {
      layer.fields.forEach(function (field) {
        if (!field.checksum) return;
        any = true;
        var c = field.checksum;
        var verdictText =
          c.verdict === 'good'
            ? '\u2713 verifies'
            : c.verdict === 'bad'
              ? '\u2717 does not verify: it should be ' + c.expected
              : c.verdict === 'absent'
                ? 'none computed (0 means no checksum, RFC 768)'
                : 'not verified: ' + (c.why || '');
        var item = el('div', { class: 'checksum ' + c.verdict, 'data-start': c.start, 'data-end': c.end, 'data-name': field.name, 'data-verdict': c.verdict }, [
          el('div', { class: 'checksum-title' }, [
            el('b', null, (field.name || field.label) + ' = ' + field.value),
            ' ',
            el('span', { class: 'verdict ' + c.verdict }, verdictText),
          ]),
          el('div', null, 'covers frame bytes ' + c.start + '\u2013' + (c.end - 1) + ' (' + (c.end - c.start) + ' bytes: ' + (c.pseudoHeader ? 'the whole ' + layer.layer.toUpperCase() + ' segment, header and data' : 'the ' + layer.layer.toUpperCase() + (layer.layer === 'ip' ? ' header' : ' message')) + ')' + (c.pseudoHeader ? ' plus the pseudo-header:' : '')),
        ]);
        if (c.pseudoHeader) {
          var p = c.pseudoHeader;
          // RFC 768 / RFC 9293 §3.1 for IPv4: zero byte, protocol, 16-bit length; RFC 8200 §8.1 for
          // IPv6: a 32-bit length, three zero bytes, then the next header.
          var six = p.source.indexOf(':') >= 0;
          var protocolByte = [('0' + p.protocol.toString(16)).slice(-2)];
          var cells = six
            ? [
                ['Source', p.source, addressBytes(p.source)],
                ['Destination', p.destination, addressBytes(p.destination)],
                ['Length', String(p.length), hex16(Math.floor(p.length / 65536)).concat(hex16(p.length % 65536))],
                ['Zero', '0', ['00', '00', '00']],
                ['Next header', String(p.protocol), protocolByte],
              ]
            : [
                ['Source', p.source, addressBytes(p.source)],
                ['Destination', p.destination, addressBytes(p.destination)],
                ['Zero', '0', ['00']],
                ['Protocol', String(p.protocol), protocolByte],
                ['Length', String(p.length), hex16(p.length)],
              ];
          var table = el('table', { class: 'pseudo-header' }, [
            el('tr', null, cells.map(function (cell) { return el('th', null, cell[0]); })),
            el('tr', null, cells.map(function (cell) { return el('td', null, cell[1]); })),
            el('tr', { class: 'pseudo-bytes' }, cells.map(function (cell) { return el('td', null, cell[2].join(' ')); })),
          ]);
          item.appendChild(table);
        }
        item.addEventListener('mouseenter', function () {
          highlightRange(c.start, c.end, 'covered');
        });
        item.addEventListener('mouseleave', clearHighlight);
        panel.appendChild(item);
      });
    });
    if (!any) panel.appendChild(el('div', { class: 'note' }, 'No checksum in this frame.'));
  }

  // ---- pointing: a field lights its bytes, a byte its fields ----
  function clearHighlight() {
    document.querySelectorAll('.hl, .covered, .hl-field').forEach(function (node) {
      node.classList.remove('hl');
      node.classList.remove('covered');
      node.classList.remove('hl-field');
    });
  }
  function highlightRange(start, end, cls) {
    clearHighlight();
    document.querySelectorAll('#frame-detail [data-offset]').forEach(function (cell) {
      var offset = Number(cell.getAttribute('data-offset'));
      if (offset >= start && offset < end) cell.classList.add(cls || 'hl');
    });
  }
  function onPoint(event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var field = target.closest('.field[data-start]');
    if (field) {
      highlightRange(Number(field.getAttribute('data-start')), Number(field.getAttribute('data-end')));
      field.classList.add('hl-field');
      return;
    }
    var cell = target.closest('[data-offset]');
    if (cell) {
      var offset = Number(cell.getAttribute('data-offset'));
      var smallest = null;
      var chips = document.querySelectorAll('#layers .field[data-start]');
      clearHighlight();
      chips.forEach(function (chip) {
        var s = Number(chip.getAttribute('data-start'));
        var e = Number(chip.getAttribute('data-end'));
        if (offset >= s && offset < e) {
          chip.classList.add('hl-field');
          if (smallest === null || e - s < smallest[1] - smallest[0]) smallest = [s, e];
        }
      });
      if (smallest !== null) {
        document.querySelectorAll('#frame-detail [data-offset]').forEach(function (c) {
          var o = Number(c.getAttribute('data-offset'));
          if (o >= smallest[0] && o < smallest[1]) c.classList.add('hl');
        });
      } else {
        cell.classList.add('hl');
      }
    }
  }

  function selectFrame(number) {
    // A live view's frames are the latest: numbered as in the whole capture, from earlierFrames + 1.
    var frame = model.frames[number - 1 - model.earlierFrames];
    if (!frame) return;
    current = frame;
    document.querySelectorAll('#frame-list tr.selected').forEach(function (row) {
      row.classList.remove('selected');
    });
    var row = document.querySelector('#frame-list tr[data-frame="' + number + '"]');
    if (row) {
      row.classList.add('selected');
      if (row.scrollIntoView) row.scrollIntoView({ block: 'nearest' });
    }
    var bytes = bytesOf(frame);
    var layers = document.getElementById('layers');
    clear(layers);
    layers.setAttribute('data-frame', number);
    layers.appendChild(el('div', { class: 'frame-title' }, frame.dissection.layers[0].title + (frame.dissection.malformed ? ' [Malformed: ' + frame.dissection.malformed + ']' : '')));
    layerTree(frame.dissection.layers).forEach(function (node) {
      layers.appendChild(drawBox(node, bytes));
    });
    drawHexDump(frame, bytes);
    drawChecksums(frame);
    document.getElementById('frame-detail').setAttribute('data-frame', number);
  }

  // ---- TCP: the ladder and the time-sequence graph ----
  function endpoint(e) {
    return e.address + ':' + e.port;
  }
  function segmentLabel(s) {
    var parts = [];
    // ACK is implied by the 'ack N' that follows; a segment with nothing else is called ACK.
    var flags = s.flags.filter(function (f) { return f !== 'ACK'; });
    if (s.flags.indexOf('SYN') >= 0 && s.flags.indexOf('ACK') >= 0) parts.push('SYN-ACK');
    else if (flags.length) parts.push(flags.join(','));
    else if (s.length === 0) parts.push('ACK');
    if (s.length > 0) parts.push('data ' + s.seq + ':' + (s.seq + s.length) + ' (' + s.length + ')');
    else parts.push('seq ' + s.seq);
    if (s.ack !== undefined) parts.push('ack ' + s.ack);
    parts.push('win ' + s.windowBytes);
    s.sack.forEach(function (b) {
      parts.push('SACK ' + b[0] + '-' + b[1]);
    });
    return (s.retransmission ? 'RETRANSMISSION ' : '') + parts.join(' ');
  }

  function drawLadder(c) {
    var holder = document.getElementById('ladder');
    clear(holder);
    var limit = 2000;
    var segments = c.segments.slice(0, limit);
    var width = 860;
    var left = 150;
    var right = 710;
    var rowHeight = 24;
    var height = 60 + segments.length * rowHeight;
    var picture = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, class: 'ladder', 'data-connection': c.id });
    picture.appendChild(svg('defs', null, [
      svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#334' })),
      svg('marker', { id: 'arrow-red', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#c0202a' })),
    ]));
    picture.appendChild(svg('text', { x: left, y: 18, 'text-anchor': 'middle', class: 'host' }, endpoint(c.a)));
    picture.appendChild(svg('text', { x: right, y: 18, 'text-anchor': 'middle', class: 'host' }, endpoint(c.b)));
    picture.appendChild(svg('line', { x1: left, y1: 26, x2: left, y2: height - 10, class: 'lifeline' }));
    picture.appendChild(svg('line', { x1: right, y1: 26, x2: right, y2: height - 10, class: 'lifeline' }));
    segments.forEach(function (s, i) {
      var y = 40 + i * rowHeight;
      var from = s.direction === 0 ? left : right;
      var to = s.direction === 0 ? right : left;
      var kind = s.flags.indexOf('RST') >= 0 ? 'rst' : s.flags.indexOf('SYN') >= 0 ? 'syn' : s.flags.indexOf('FIN') >= 0 ? 'fin' : s.length > 0 ? 'data' : 'ack';
      var group = svg('g', {
        class: 'ladder-segment kind-' + kind + (s.retransmission ? ' retransmission' : '') + (s.sack.length ? ' has-sack' : ''),
        'data-frame': s.frame,
        'data-direction': s.direction,
        'data-retransmission': s.retransmission ? 'true' : 'false',
      });
      group.appendChild(svg('title', null, 'frame ' + s.frame + ' at ' + fmtTime(s.time) + ' s: ' + segmentLabel(s) + (s.options ? ' [' + s.options + ']' : '')));
      group.appendChild(svg('line', { x1: from, y1: y, x2: to, y2: y + 14, 'marker-end': s.retransmission ? 'url(#arrow-red)' : 'url(#arrow)' }));
      group.appendChild(svg('text', { x: (left + right) / 2, y: y + 4, 'text-anchor': 'middle' }, segmentLabel(s)));
      group.appendChild(svg('text', { x: 8, y: y + 10, class: 'time' }, fmtTime(s.time)));
      group.appendChild(svg('text', { x: width - 8, y: y + 10, 'text-anchor': 'end', class: 'time' }, '#' + s.frame));
      group.addEventListener('click', function () {
        selectFrame(s.frame);
      });
      picture.appendChild(group);
    });
    holder.appendChild(picture);
    if (c.segments.length > limit) holder.appendChild(el('div', { class: 'note' }, 'The first ' + limit + ' of ' + c.segments.length + ' segments.'));
  }

  function stepPath(points, x, y) {
    var d = '';
    var last = null;
    points.forEach(function (p) {
      if (last === null) d += 'M' + x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1);
      else d += ' H' + x(p[0]).toFixed(1) + ' V' + y(p[1]).toFixed(1);
      last = p;
    });
    return d;
  }

  function drawGraph(c, direction, zoom) {
    var holder = document.getElementById('tsg');
    clear(holder);
    var occupied = function (s) {
      return s.length + (s.flags.indexOf('SYN') >= 0 ? 1 : 0) + (s.flags.indexOf('FIN') >= 0 ? 1 : 0);
    };
    var times = c.segments.map(function (s) { return s.time; });
    var start = Math.min.apply(null, times);
    var t0 = zoom ? zoom[0] : start;
    var t1 = zoom ? zoom[1] : Math.max.apply(null, times);
    if (t1 <= t0) t1 = t0 + 0.001;
    var inside = function (s) { return s.time >= t0 && s.time <= t1; };
    var sent = c.segments.filter(function (s) { return s.direction === direction && inside(s); });
    var allBack = c.segments.filter(function (s) { return s.direction !== direction && s.ack !== undefined; });
    var back = allBack.filter(inside);
    // The ACK in force when the window opens, so that the step lines start at its left edge.
    var before = allBack.filter(function (s) { return s.time < t0; }).pop();
    var top = 1;
    var bottom = Infinity;
    sent.forEach(function (s) {
      top = Math.max(top, s.seq + occupied(s));
      bottom = Math.min(bottom, s.seq);
    });
    back.concat(before ? [before] : []).forEach(function (s) {
      top = Math.max(top, s.ack + s.windowBytes);
      bottom = Math.min(bottom, s.ack);
      s.sack.forEach(function (b) { top = Math.max(top, b[1]); });
    });
    if (!zoom || !isFinite(bottom)) bottom = 0;
    if (top <= bottom) top = bottom + 1;
    var width = 900;
    var height = 480;
    var m = { left: 80, right: 20, top: 20, bottom: 40 };
    var x = function (t) { return m.left + ((t - t0) / (t1 - t0)) * (width - m.left - m.right); };
    var y = function (n) { return height - m.bottom - ((n - bottom) / (top - bottom)) * (height - m.top - m.bottom); };
    var picture = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, class: 'tsg', 'data-connection': c.id, 'data-direction': direction });
    // axes
    picture.appendChild(svg('line', { x1: m.left, y1: height - m.bottom, x2: width - m.right, y2: height - m.bottom, class: 'axis' }));
    picture.appendChild(svg('line', { x1: m.left, y1: m.top, x2: m.left, y2: height - m.bottom, class: 'axis' }));
    for (var k = 0; k <= 5; k++) {
      var tv = t0 + ((t1 - t0) * k) / 5;
      picture.appendChild(svg('text', { x: x(tv), y: height - m.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, (tv - start).toFixed(4) + ' s'));
      var sv = Math.round(bottom + ((top - bottom) * k) / 5);
      picture.appendChild(svg('text', { x: m.left - 6, y: y(sv) + 4, 'text-anchor': 'end', class: 'tick' }, String(sv)));
    }
    picture.appendChild(svg('text', { x: width / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis-label' }, 'time (s since the connection\u2019s first segment)'));
    picture.appendChild(svg('text', { x: 14, y: height / 2, transform: 'rotate(-90 14 ' + height / 2 + ')', 'text-anchor': 'middle', class: 'axis-label' }, 'relative sequence number'));
    // receive window and ACK lines, from the other direction's segments
    var acks = (before ? [{ time: t0, ack: before.ack, windowBytes: before.windowBytes }] : []).concat(back);
    if (acks.length) {
      var ackPoints = acks.map(function (s) { return [s.time, s.ack]; });
      ackPoints.push([t1, acks[acks.length - 1].ack]);
      var windowPoints = acks.map(function (s) { return [s.time, s.ack + s.windowBytes]; });
      windowPoints.push([t1, acks[acks.length - 1].ack + acks[acks.length - 1].windowBytes]);
      picture.appendChild(svg('path', { d: stepPath(windowPoints, x, y), class: 'ts-window' }));
      picture.appendChild(svg('path', { d: stepPath(ackPoints, x, y), class: 'ts-ack' }));
    }
    // SACKed ranges
    back.forEach(function (s) {
      s.sack.forEach(function (b) {
        picture.appendChild(svg('line', { x1: x(s.time), y1: y(b[0]), x2: x(s.time), y2: y(b[1]), class: 'ts-sack', 'data-frame': s.frame, 'data-left': b[0], 'data-right': b[1] }));
      });
    });
    // segments: an I-beam from seq to seq + length
    sent.forEach(function (s) {
      var n = occupied(s);
      if (n === 0) return;
      var cx = x(s.time);
      var group = svg('g', { class: 'ts-segment' + (s.retransmission ? ' retransmission' : ''), 'data-frame': s.frame, 'data-seq': s.seq, 'data-length': s.length, 'data-retransmission': s.retransmission ? 'true' : 'false' }, [
        svg('title', null, 'frame ' + s.frame + ': ' + segmentLabel(s)),
        svg('line', { x1: cx, y1: y(s.seq), x2: cx, y2: y(s.seq + n) }),
        svg('line', { x1: cx - 3, y1: y(s.seq), x2: cx + 3, y2: y(s.seq) }),
        svg('line', { x1: cx - 3, y1: y(s.seq + n), x2: cx + 3, y2: y(s.seq + n) }),
      ]);
      if (s.retransmission) group.appendChild(svg('text', { x: cx + 4, y: y(s.seq + n) - 2, class: 'ts-r' }, 'R'));
      group.addEventListener('click', function () {
        selectFrame(s.frame);
      });
      picture.appendChild(group);
    });
    var legend = svg('g', { class: 'legend' });
    [['ts-segment-key', 'segment'], ['ts-retransmission-key', 'retransmission (R)'], ['ts-ack-key', 'ACK'], ['ts-window-key', 'receive window'], ['ts-sack-key', 'SACKed']].forEach(function (item, i) {
      legend.appendChild(svg('line', { x1: m.left + 10 + i * 150, y1: m.top + 6, x2: m.left + 30 + i * 150, y2: m.top + 6, class: item[0] }));
      legend.appendChild(svg('text', { x: m.left + 34 + i * 150, y: m.top + 10, class: 'tick' }, item[1]));
    });
    picture.appendChild(legend);
    // Drag across the graph to zoom into that time; double-click to see it all again.
    var band = svg('rect', { x: 0, y: m.top, width: 0, height: height - m.top - m.bottom, class: 'zoom-band' });
    picture.appendChild(band);
    var from = null;
    var toTime = function (event) {
      var box = picture.getBoundingClientRect();
      var px = ((event.clientX - box.left) / box.width) * width;
      return t0 + ((Math.max(m.left, Math.min(width - m.right, px)) - m.left) / (width - m.left - m.right)) * (t1 - t0);
    };
    picture.addEventListener('mousedown', function (event) {
      from = toTime(event);
      event.preventDefault();
    });
    picture.addEventListener('mousemove', function (event) {
      if (from === null) return;
      var a = x(Math.min(from, toTime(event)));
      var b = x(Math.max(from, toTime(event)));
      band.setAttribute('x', a);
      band.setAttribute('width', b - a);
    });
    picture.addEventListener('mouseup', function (event) {
      if (from === null) return;
      var to = toTime(event);
      var picked = [Math.min(from, to), Math.max(from, to)];
      from = null;
      if (picked[1] - picked[0] > (t1 - t0) / 200) drawGraph(c, direction, picked);
    });
    picture.addEventListener('dblclick', function () {
      drawGraph(c, direction);
    });
    if (zoom) picture.setAttribute('data-zoom', zoom[0] + ',' + zoom[1]);
    holder.appendChild(picture);
    holder.appendChild(el('div', { class: 'note' }, 'Drag across the graph to zoom into that time; double-click for the whole connection.'));
  }

  function drawConnections() {
    var section = document.getElementById('tcp');
    var picker = document.getElementById('connection-picker');
    if (model.connections.length === 0) {
      section.appendChild(el('div', { class: 'note' }, 'No TCP segments in this capture.'));
      picker.style.display = 'none';
      return;
    }
    model.connections.forEach(function (c) {
      var bytes = [0, 0];
      var retrans = 0;
      c.segments.forEach(function (s) {
        bytes[s.direction] += s.length;
        if (s.retransmission) retrans++;
      });
      picker.appendChild(el('option', { value: c.id }, '#' + c.id + ' ' + endpoint(c.a) + ' \u21c4 ' + endpoint(c.b) + ': ' + c.segments.length + ' segments, ' + bytes[0] + ' + ' + bytes[1] + ' bytes, ' + retrans + ' retransmissions'));
    });
    var directionPicker = document.getElementById('direction-picker');
    var show = function () {
      var c = model.connections[Number(picker.value) - 1];
      clear(directionPicker);
      var bytes = [0, 0];
      c.segments.forEach(function (s) { bytes[s.direction] += s.length; });
      directionPicker.appendChild(el('option', { value: 0 }, endpoint(c.a) + ' \u2192 ' + endpoint(c.b)));
      directionPicker.appendChild(el('option', { value: 1 }, endpoint(c.b) + ' \u2192 ' + endpoint(c.a)));
      directionPicker.value = bytes[1] > bytes[0] ? '1' : '0';
      drawLadder(c);
      drawGraph(c, Number(directionPicker.value));
    };
    picker.addEventListener('change', show);
    directionPicker.addEventListener('change', function () {
      drawGraph(model.connections[Number(picker.value) - 1], Number(directionPicker.value));
    });
    // Start with the connection that has the most retransmissions, else the largest.
    var best = model.connections.slice().sort(function (p, q) {
      var r = function (c) { return c.segments.filter(function (s) { return s.retransmission; }).length; };
      return r(q) - r(p) || q.segments.length - p.segments.length;
    })[0];
    picker.value = String(best.id);
    show();
  }

  // ---- fragments ----
  function drawDatagrams() {
    var section = document.getElementById('fragments');
    if (model.datagrams.length === 0) {
      section.appendChild(el('div', { class: 'note' }, 'No fragmented datagram in this capture.'));
      return;
    }
    var protocols = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' };
    model.datagrams.forEach(function (d, index) {
      var total = d.totalLength !== undefined ? d.totalLength : Math.max.apply(null, d.pieces.map(function (p) { return p.offset + p.length; }));
      var width = 860;
      var scale = function (n) { return 10 + (n / Math.max(total, 1)) * (width - 20); };
      var summary = 'IPv' + d.version + ' ' + d.source + ' \u2192 ' + d.destination + ', ' + (protocols[d.protocol] || 'protocol ' + d.protocol) + ', id ' + d.identification + ': ' + d.pieces.length + ' fragments, ' + total + ' payload bytes, ' + (d.complete ? 'complete \u2014 reassembled as one datagram' : 'incomplete (' + d.gaps.length + ' gap' + (d.gaps.length === 1 ? '' : 's') + ')');
      var picture = svg('svg', { width: width, height: 96, viewBox: '0 0 ' + width + ' 96', class: 'datagram', 'data-datagram': index, 'data-total': total, 'data-complete': d.complete ? 'true' : 'false' });
      picture.appendChild(svg('text', { x: 10, y: 14, class: 'tick' }, 'the reassembled datagram\u2019s payload, bytes 0\u2013' + total));
      picture.appendChild(svg('rect', { x: 10, y: 22, width: width - 20, height: 36, class: 'datagram-outline' }));
      d.gaps.forEach(function (g) {
        picture.appendChild(svg('rect', { x: scale(g[0]), y: 22, width: Math.max(1, scale(g[1]) - scale(g[0])), height: 36, class: 'fragment-gap' }));
      });
      d.pieces.forEach(function (p, i) {
        var group = svg('g', { class: 'fragment-piece', 'data-frame': p.frame, 'data-offset': p.offset, 'data-length': p.length, 'data-more': p.moreFragments ? 'true' : 'false' }, [
          svg('title', null, 'frame ' + p.frame + ': payload bytes ' + p.offset + '\u2013' + (p.offset + p.length) + (p.moreFragments ? ', more fragments follow' : ', the last fragment')),
          svg('rect', { x: scale(p.offset), y: 22, width: Math.max(1, scale(p.offset + p.length) - scale(p.offset)), height: 36, class: 'piece-' + (i % 4) }),
        ]);
        // A piece too narrow for its label gets it below the bar.
        var wide = scale(p.offset + p.length) - scale(p.offset) > 60;
        group.appendChild(svg('text', { x: wide ? (scale(p.offset) + scale(p.offset + p.length)) / 2 : scale(p.offset), y: wide ? 44 : 88, 'text-anchor': wide ? 'middle' : 'end' }, 'frame ' + p.frame));
        if (p.offset === 0 || scale(total) - scale(p.offset) > 40) group.appendChild(svg('text', { x: scale(p.offset) + 2, y: 74, class: 'tick' }, String(p.offset)));
        group.addEventListener('click', function () {
          selectFrame(p.frame);
        });
        picture.appendChild(group);
      });
      picture.appendChild(svg('text', { x: width - 10, y: 74, 'text-anchor': 'end', class: 'tick' }, String(total)));
      section.appendChild(el('div', { class: 'datagram-box' }, [el('div', { class: 'datagram-title' }, summary), picture]));
    });
  }

  // ---- start ----
  document.getElementById('summary').textContent =
    (model.earlierFrames ? 'the latest ' : '') + model.frames.length + ' frames' + (model.earlierFrames ? ' (' + model.earlierFrames + ' earlier frames not shown)' : '') + (model.omittedFrames ? ' (' + model.omittedFrames + ' more left out)' : '') + ', ' + model.connections.length + ' TCP connection' + (model.connections.length === 1 ? '' : 's') + ', ' + model.datagrams.length + ' fragmented datagram' + (model.datagrams.length === 1 ? '' : 's') + (model.live ? ' \u2014 ' + model.live : '');
  drawFrameList();
  document.getElementById('frame-detail').addEventListener('mouseover', onPoint);
  document.getElementById('frame-detail').addEventListener('mouseleave', clearHighlight);
  drawConnections();
  drawDatagrams();
  var wanted = /frame=(\d+)/.exec(location.hash);
  if (model.frames.length) selectFrame(wanted && model.frames[Number(wanted[1]) - 1 - model.earlierFrames] ? Number(wanted[1]) : model.frames[0].number);
  window.ustackView = { model: model, selectFrame: selectFrame, current: function () { return current; } };
  document.body.setAttribute('data-ready', 'true');
})();
`;
