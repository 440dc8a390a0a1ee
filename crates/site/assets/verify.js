// urne verify.js: checks, in the reader's browser, the release this page was rendered from.
//
//  1. log/checkpoint is a C2SP signed note signed by the log key named on the page
//     (Ed25519 through WebCrypto), for the page's log origin;
//  2. the release's log entry is in that checkpoint's tree: the inclusion proof is computed
//     from log/tile/... (C2SP tlog-tiles) and checked against the signed root (RFC 9162
//     section 2.1.3.2), with the leaf hash computed from the entry bytes themselves;
//  3. the entry's manifest hashes to the manifest hash on the page, and the payload at
//     blobs/sha256/<hex> hashes to the manifest's payload-sha256 (and has its size);
//  4. it shows who signed the release (the manifest's signature lines);
//  5. when the page names the trust policy in force (data-policy-index: the policy needs
//     witness cosignatures), that policy entry is read from the same checkpoint's tree
//     (inclusion, manifest kind trust-policy, payload hash and size), its C2SP tlog-policy
//     witness, group and quorum lines are parsed, and every cosignature on log/checkpoint by
//     a policy witness is checked (C2SP tlog-cosignature: Ed25519 over
//     "cosignature/v1\ntime <T>\n" + the checkpoint body). A cosignature that does not verify
//     is FAILED; valid ones below the quorum are "awaiting witnesses"; the quorum met is
//     verified;
//  6. the named policy entry is the one in force: every log entry after it is read from the
//     entry bundles and proven to be in the signed tree (the root is recomputed from their
//     leaf hashes and the tiles to their left), and none before the release is another
//     trust policy (a page naming a superseded policy is FAILED); a rotation sequenced after
//     the release (a page rendered before it) is the policy the cosignatures are checked
//     against.
//
// Officials' signatures are checked against the trust policy by `urne verify`; this script
// shows their names. No framework and no fetches outside this site. The summary page also
// updates itself when a release arrives: SSE at api/v1/events when the server has it, else
// by polling log/checkpoint (static hosts).
(function () {
  'use strict';
  var WIDTH = 256;
  var enc = new TextEncoder();

  function fail(why) { throw new Error(why); }
  function b64(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(u) {
    var s = '';
    for (var i = 0; i < u.length; i++) s += (u[i] < 16 ? '0' : '') + u[i].toString(16);
    return s;
  }
  function cat() {
    var n = 0, i, parts = arguments;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }
  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  async function sha256(u) { return new Uint8Array(await crypto.subtle.digest('SHA-256', u)); }
  // RFC 6962 section 2.1: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right).
  function leafHash(entry) { return sha256(cat(new Uint8Array([0]), entry)); }
  function nodeHash(l, r) { return sha256(cat(new Uint8Array([1]), l, r)); }

  async function get(url, fresh) {
    var r = await fetch(url, fresh ? { cache: 'no-store' } : {});
    if (!r.ok) fail(url.replace(/^(\.\.\/)+/, '') + ': HTTP ' + r.status);
    return new Uint8Array(await r.arrayBuffer());
  }

  // C2SP signed-note: text, a blank line, then lines "— <name> <base64(keyid || sig)>".
  function parseNote(bytes) {
    var s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    var cut = s.lastIndexOf('\n\n');
    if (cut < 0) fail('not a signed note');
    var sigs = [];
    s.slice(cut + 2).split('\n').forEach(function (line) {
      if (line === '') return;
      var m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) fail('malformed signature line');
      sigs.push({ name: m[1], raw: b64(m[2]) });
    });
    return { text: s.slice(0, cut + 1), sigs: sigs };
  }

  // Go sumdb/note verifier key: name+hash+base64(0x01 || public key).
  async function parseVkey(vkey) {
    var m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey);
    if (!m) fail('malformed log key on the page');
    var raw = b64(m[3]);
    if (raw.length !== 33 || raw[0] !== 1) fail('log key is not Ed25519');
    var id = (await sha256(cat(enc.encode(m[1] + '\n'), raw))).slice(0, 4);
    if (hex(id) !== m[2]) fail('log key hash does not match');
    var key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
    return { name: m[1], id: id, key: key };
  }

  // C2SP tlog-cosignature verifier key: name+hash+base64(0x04 || public key).
  async function parseCosignerVkey(vkey) {
    var m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey);
    if (!m) fail('malformed witness key in the trust policy');
    var raw = b64(m[3]);
    if (raw.length !== 33 || raw[0] !== 4) fail('witness key is not a cosignature/v1 key');
    var id = (await sha256(cat(enc.encode(m[1] + '\n'), raw))).slice(0, 4);
    if (hex(id) !== m[2]) fail('witness key hash does not match');
    var key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
    return { name: m[1], id: id, key: key };
  }

  // The C2SP tlog-policy lines of a urne-trust-policy/v1 payload: witnesses, groups, quorum.
  async function parsePolicy(text) {
    var lines = text.split('\n');
    if (lines[0] !== 'urne-trust-policy/v1') fail('trust policy entry has no urne-trust-policy/v1 payload');
    var p = { witnesses: {}, groups: {}, order: [], quorum: null };
    for (var i = 1; i < lines.length; i++) {
      var f = lines[i].split(' ');
      if (f[0] === 'witness') {
        if (f.length < 3) fail('trust policy line ' + (i + 1) + ' is malformed');
        p.witnesses[f[1]] = await parseCosignerVkey(f[2]);
      } else if (f[0] === 'group') {
        if (f.length < 4) fail('trust policy line ' + (i + 1) + ' is malformed');
        var members = f.slice(3), k = f[2];
        k = k === 'all' ? members.length : k === 'any' ? 1 : Number(k);
        if (!(k >= 1 && k <= members.length)) fail('trust policy line ' + (i + 1) + ': bad threshold');
        p.groups[f[1]] = { k: k, members: members };
      } else if (f[0] === 'quorum') {
        p.quorum = f[1];
      }
    }
    if (!p.quorum) fail('trust policy has no quorum line');
    return p;
  }

  // tlog-policy: a witness counts if it cosigned; a group if k of its members count.
  function witnessed(p, name, ok, depth) {
    if (depth > 64) return false;
    if (p.witnesses[name]) return ok.indexOf(name) >= 0;
    var g = p.groups[name];
    if (!g) return false;
    return g.members.filter(function (m) { return witnessed(p, m, ok, depth + 1); }).length >= g.k;
  }

  // Every cosignature by a policy witness must verify; returns the names that cosigned and
  // whether they meet the quorum.
  async function checkCosignatures(p, note) {
    var ok = [];
    for (var name in p.witnesses) {
      var w = p.witnesses[name];
      var sig = note.sigs.filter(function (g) { return g.name === w.name && same(g.raw.slice(0, 4), w.id); })[0];
      if (!sig) continue;
      if (sig.raw.length !== 76) fail('cosignature by witness ' + name + ' has the wrong length');
      var t = 0;
      for (var i = 4; i < 12; i++) t = t * 256 + sig.raw[i];
      var msg = enc.encode('cosignature/v1\ntime ' + t + '\n' + note.text);
      if (!await crypto.subtle.verify({ name: 'Ed25519' }, w.key, sig.raw.slice(12), msg)) {
        fail('cosignature by witness ' + name + ' does not verify');
      }
      ok.push(name);
    }
    return { names: ok, met: p.quorum === 'none' || witnessed(p, p.quorum, ok, 0) };
  }

  async function verifyCheckpoint(bytes, vk, origin) {
    var note = parseNote(bytes);
    var sig = note.sigs.filter(function (g) {
      return g.name === vk.name && same(g.raw.slice(0, 4), vk.id);
    })[0];
    if (!sig) fail('checkpoint is not signed by the log key');
    if (sig.raw.length !== 68) fail('checkpoint signature has the wrong length');
    var ok = await crypto.subtle.verify({ name: 'Ed25519' }, vk.key, sig.raw.slice(4), enc.encode(note.text));
    if (!ok) fail('checkpoint signature does not verify');
    var lines = note.text.split('\n');
    if (lines[0] !== origin) fail('checkpoint is for another log');
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) fail('checkpoint size is malformed');
    var root = b64(lines[2]);
    if (root.length !== 32) fail('checkpoint root is malformed');
    return { size: Number(lines[1]), root: root, note: note };
  }

  // tlog-tiles index path: 1234067 -> x001/x234/067.
  function indexPath(n) {
    var d = String(n);
    while (d.length % 3) d = '0' + d;
    var parts = d.match(/.../g);
    return parts.map(function (p, i) { return i < parts.length - 1 ? 'x' + p : p; }).join('/');
  }
  function widthSuffix(w) { return w < WIDTH ? '.p/' + w : ''; }

  function Tiles(root, size) { this.root = root; this.size = size; this.cache = {}; }
  // A stored hash: tile level L holds the tree's hashes at height 8L.
  Tiles.prototype.stored = async function (level, k) {
    var count = Math.floor(this.size / Math.pow(WIDTH, level));
    if (k >= count) fail('tile hash out of range');
    var t = Math.floor(k / WIDTH), w = Math.min(WIDTH, count - t * WIDTH);
    var path = 'log/tile/' + level + '/' + indexPath(t) + widthSuffix(w);
    if (!this.cache[path]) this.cache[path] = get(this.root + path);
    var tile = await this.cache[path];
    if (tile.length !== w * 32) fail(path + ' has the wrong length');
    var at = (k % WIDTH) * 32;
    return tile.slice(at, at + 32);
  };
  // The hash of the complete subtree of height h at index k.
  Tiles.prototype.node = async function (h, k) {
    if (h % 8 === 0) return this.stored(h / 8, k);
    return nodeHash(await this.node(h - 1, 2 * k), await this.node(h - 1, 2 * k + 1));
  };
  // RFC 9162 MTH of leaves [lo, hi), lo aligned to the largest power of two below hi - lo.
  Tiles.prototype.mth = async function (lo, hi) {
    var n = hi - lo;
    var h = Math.log2(n);
    if (Number.isInteger(h) && lo % n === 0) return this.node(h, lo / n);
    var k = largestPow2Below(n);
    return nodeHash(await this.mth(lo, lo + k), await this.mth(lo + k, hi));
  };
  // RFC 9162 section 2.1.3.1 PATH(m, D[lo:hi]).
  Tiles.prototype.path = async function (m, lo, hi) {
    var n = hi - lo;
    if (n <= 1) return [];
    var k = largestPow2Below(n);
    if (m < lo + k) return (await this.path(m, lo, lo + k)).concat([await this.mth(lo + k, hi)]);
    return (await this.path(m, lo + k, hi)).concat([await this.mth(lo, lo + k)]);
  };
  function largestPow2Below(n) { var k = 1; while (k * 2 < n) k *= 2; return k; }

  // RFC 9162 section 2.1.3.2.
  async function checkInclusion(index, size, leaf, path, root) {
    if (index >= size) fail('entry is not in the signed tree');
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) fail('inclusion proof is too long');
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(path[i], r);
        if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, path[i]);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0 || !same(r, root)) fail('inclusion proof does not match the signed root');
  }

  // The entries of the bundle at index b in a tree of size (tlog-tiles: uint16 length, bytes).
  async function bundleAt(root, b, size) {
    var w = Math.min(WIDTH, size - b * WIDTH);
    var path = 'log/tile/entries/' + indexPath(b) + widthSuffix(w);
    var bundle = await get(root + path), at = 0, out = [];
    while (at < bundle.length) {
      if (at + 2 > bundle.length) fail(path + ' is truncated');
      var len = (bundle[at] << 8) | bundle[at + 1];
      if (at + 2 + len > bundle.length) fail(path + ' is truncated');
      out.push(bundle.slice(at + 2, at + 2 + len));
      at += 2 + len;
    }
    if (out.length !== w) fail(path + ' holds ' + out.length + ' entries, not ' + w);
    return out;
  }

  async function entryAt(root, index, size) {
    return (await bundleAt(root, Math.floor(index / WIDTH), size))[index % WIDTH];
  }

  // The log entries [from, cp.size), proven to be the signed tree's: RFC 9162 MTH recomputed
  // with their leaf hashes and, left of from, the tiles' hashes, equal to the signed root.
  async function entriesFrom(root, tiles, cp, from) {
    var entries = [];
    for (var b = Math.floor(from / WIDTH); b * WIDTH < cp.size; b++) {
      var got = await bundleAt(root, b, cp.size);
      for (var i = 0; i < got.length; i++) if (b * WIDTH + i >= from) entries.push(got[i]);
    }
    var leaves = await Promise.all(entries.map(leafHash));
    async function mth(lo, hi) {
      if (hi <= from) return tiles.mth(lo, hi);
      if (hi - lo === 1) return leaves[lo - from];
      var k = largestPow2Below(hi - lo);
      var both = await Promise.all([mth(lo, lo + k), mth(lo + k, hi)]);
      return nodeHash(both[0], both[1]);
    }
    if (!same(await mth(0, cp.size), cp.root)) fail('log entries ' + from + ' to ' + (cp.size - 1) + ' do not match the signed root');
    return entries;
  }

  function isPolicyEntry(entry) {
    try { return manifestFields(parseNote(entry).text).kind === 'trust-policy'; } catch (e) { return false; }
  }

  // The trust policy in force for the checkpoint: the page's entry unless a later one
  // replaced it. A replacement before the release shown means the page names a superseded
  // policy.
  async function policyInForce(root, tiles, cp, named, release) {
    if (!(Number.isInteger(named) && named >= 0 && named < cp.size)) fail('the page names no trust policy entry of the log');
    var later = await entriesFrom(root, tiles, cp, named + 1), last = named;
    for (var i = 0; i < later.length; i++) if (isPolicyEntry(later[i])) last = named + 1 + i;
    if (last !== named && last < release) {
      fail('the page names trust policy entry ' + named + ', replaced by entry ' + last + ' before this release');
    }
    return policyAt(root, tiles, cp, last);
  }

  function manifestFields(text) {
    var f = {};
    text.split('\n').forEach(function (l) {
      var sp = l.indexOf(' ');
      if (sp > 0) f[l.slice(0, sp)] = l.slice(sp + 1);
    });
    if (text.split('\n')[0] !== 'urne-release/v1') fail('log entry is not a release manifest');
    return f;
  }

  // The log entry at index, proven included in the checkpoint's tree.
  async function includedEntry(root, tiles, cp, index) {
    var entry = await entryAt(root, index, cp.size);
    var path = await tiles.path(index, 0, cp.size);
    await checkInclusion(index, cp.size, await leafHash(entry), path, cp.root);
    return entry;
  }

  // The witness policy of the trust-policy entry at index (its payload verified by hash).
  async function policyAt(root, tiles, cp, index) {
    var note = parseNote(await includedEntry(root, tiles, cp, index));
    var m = manifestFields(note.text);
    if (m.kind !== 'trust-policy') fail('log entry ' + index + ' is not a trust policy');
    var payload = await get(root + 'blobs/sha256/' + m['payload-sha256']);
    if (hex(await sha256(payload)) !== m['payload-sha256']) fail('trust policy does not hash to the signed value');
    if (String(payload.length) !== m['payload-size']) fail('trust policy size differs from the signed value');
    return parsePolicy(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  }

  async function verify(panel) {
    var d = panel.dataset, root = d.root, index = Number(d.logIndex);
    if (!window.crypto || !crypto.subtle) fail('this browser has no WebCrypto here (needs HTTPS)');
    var vk = await parseVkey(d.vkey);
    var cp = await verifyCheckpoint(await get(root + 'log/checkpoint', true), vk, d.origin);
    var tiles = new Tiles(root, cp.size);
    var entry = await includedEntry(root, tiles, cp, index);
    var note = parseNote(entry);
    if (hex(await sha256(enc.encode(note.text))) !== d.manifest) fail('log entry is not the release this page shows');
    var m = manifestFields(note.text);
    if (m.election !== d.election) fail('release is for another election');
    if (m['payload-sha256'] !== d.payload) fail('page names another payload than the manifest');
    var payload = await get(root + 'blobs/sha256/' + d.payload);
    if (hex(await sha256(payload)) !== m['payload-sha256']) fail('payload does not hash to the signed value');
    if (String(payload.length) !== m['payload-size']) fail('payload size differs from the signed value');
    var names = note.sigs.map(function (s) { return s.name; });
    if (!names.length) fail('release has no signatures');
    var text = d.tSigned.replace('{names}', names.join(', ')) + ' ' +
      d.tLog.replace('{index}', String(index)).replace('{size}', String(cp.size)).replace('{origin}', vk.name);
    if (d.policyIndex === undefined) return { text: text, awaiting: false };
    var policy = await policyInForce(root, tiles, cp, Number(d.policyIndex), index);
    var co = await checkCosignatures(policy, cp.note);
    if (!co.met) return { text: text, awaiting: true };
    if (co.names.length) text += ' ' + d.tWitnessed.replace('{names}', co.names.join(', '));
    return { text: text, awaiting: false };
  }

  async function run() {
    var panel = document.getElementById('verify');
    if (!panel) return;
    var out = panel.querySelector('.verify-status');
    out.className = 'verify-status';
    out.textContent = panel.dataset.tRunning;
    try {
      var what = await verify(panel);
      if (what.awaiting) {
        out.className = 'verify-status awaiting';
        out.textContent = panel.dataset.tAwaiting + ': ' + what.text;
      } else {
        out.className = 'verify-status ok';
        out.textContent = panel.dataset.tOk + ': ' + what.text;
      }
    } catch (e) {
      out.className = 'verify-status fail';
      out.textContent = panel.dataset.tFail + ': ' + (e && e.message ? e.message : String(e));
    }
  }

  // Live updates of the summary: replace <main> and the panel with the fresh page's.
  function live() {
    var main = document.querySelector('main[data-live]');
    var panel = document.getElementById('verify');
    if (!main || !panel) return;
    var root = panel.dataset.root, election = panel.dataset.election, size = null;
    async function refresh() {
      var r = await fetch(location.href, { cache: 'no-store' });
      if (!r.ok) return;
      var doc = new DOMParser().parseFromString(await r.text(), 'text/html');
      var m = doc.querySelector('main'), v = doc.getElementById('verify');
      if (!m || !v) return;
      var cur = document.getElementById('verify');
      var was = main.querySelector('[data-witness]'), now = m.querySelector('[data-witness]');
      var witnessChanged = (was && was.dataset.witness) !== (now && now.dataset.witness);
      if (v.dataset.logIndex === cur.dataset.logIndex && !witnessChanged) return;
      main.innerHTML = m.innerHTML;
      cur.replaceWith(document.importNode(v, true));
      var note = document.createElement('p');
      note.setAttribute('role', 'status');
      note.textContent = v.dataset.tLive;
      main.prepend(note);
      run();
    }
    // The whole note: new cosignatures on the same size change it too.
    function poll() {
      setInterval(async function () {
        try {
          var text = new TextDecoder().decode(await get(root + 'log/checkpoint', true));
          if (size !== null && text !== size) await refresh();
          size = text;
        } catch (e) { /* a missed poll is retried */ }
      }, 15000);
    }
    if (!window.EventSource) return poll();
    var es = new EventSource(root + 'api/v1/events');
    es.addEventListener('release', function (e) {
      try { if (JSON.parse(e.data).election === election) refresh(); } catch (x) { /* ignore */ }
    });
    // A newer checkpoint met the witness quorum: "awaiting witnesses" may be over.
    es.addEventListener('witnessed', function () { refresh(); });
    es.onerror = function () { if (es.readyState === EventSource.CLOSED) poll(); };
  }

  function start() { run(); live(); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
