// The underlay of the cross-node scenario, captured and decoded by the real
// tshark: VXLAN on UDP 8472 with VNI = the source pod's identity, inner
// IPv4/TCP with correct checksums, nothing malformed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, ip } from '../helpers/world.js';
import { captureUnderlay } from '../../src/net/pcap-tap.js';
import { readPcap } from '../../src/packet/pcap.js';
import { isParseFailure } from '../../src/packet/error.js';
import { tsharkAvailable, tsharkDecode, tsharkField, tsharkLayers } from '../helpers/tshark.js';

function crossNodeCapture(): Uint8Array {
  const w = new World();
  const client = w.addPod('frontend', 0, '10.0.1.50', 12345);
  w.addPod('backend', 1, '10.0.2.100', 23456);
  w.addService('10.96.100.10', 80, [{ addr: '10.0.2.100', port: 8080 }]);
  w.pods[1]!.stack.tcpListen(8080, (s) => {
    s.onData = () => {
      s.write(new TextEncoder().encode('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
      s.end();
    };
  });
  const cap = captureUnderlay(w.underlay, w.clock);
  const sock = client.stack.tcpConnect(ip('10.96.100.10'), 80);
  sock.onConnect = () => sock.write(new TextEncoder().encode('GET / HTTP/1.1\r\nhost: backend\r\n\r\n'));
  sock.onEnd = () => sock.end();
  w.settle();
  cap.stop();
  return cap.bytes();
}

test('the capture is a valid pcap of VXLAN frames only', () => {
  const pcap = readPcap(crossNodeCapture());
  assert.ok(!isParseFailure(pcap));
  assert.ok(pcap.packets.length >= 7, `handshake, request, response and close both ways (got ${pcap.packets.length})`);
});

test('tshark decodes the underlay as VXLAN/8472 with VNI = source identity and good inner checksums', { skip: tsharkAvailable() ? false : 'tshark not installed (Debian package tshark; .ci/run installs it)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podpath-pcap-'));
  try {
    const path = join(dir, 'underlay.pcap');
    writeFileSync(path, crossNodeCapture());
    const { json, text, stderr } = tsharkDecode(path);
    assert.ok(json.length >= 7);
    assert.doesNotMatch(text, /Malformed/i);
    assert.doesNotMatch(stderr, /Malformed/i);
    for (const frame of json) {
      assert.equal(tsharkField(frame, 'frame.protocols')?.startsWith('eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp'), true);
      assert.equal(tsharkLayers(frame, '_ws.malformed').length, 0);
      const [outer, inner] = tsharkLayers(frame, 'ip');
      const udp = tsharkLayers(frame, 'udp')[0];
      const vxlan = tsharkLayers(frame, 'vxlan')[0];
      const tcp = tsharkLayers(frame, 'tcp')[0];
      assert.equal(tsharkField(udp, 'udp.dstport'), '8472');
      assert.equal(tsharkField(outer, 'ip.checksum.status'), '1');
      assert.equal(tsharkField(inner, 'ip.checksum.status'), '1');
      assert.equal(tsharkField(tcp, 'tcp.checksum.status'), '1');
      const fromClient = tsharkField(inner, 'ip.src') === '10.0.1.50';
      // VNI carries the sender's security identity; the outer addresses are the nodes.
      assert.equal(tsharkField(vxlan, 'vxlan.vni'), fromClient ? '12345' : '23456');
      assert.equal(tsharkField(outer, 'ip.src'), fromClient ? '192.168.1.11' : '192.168.1.12');
      assert.equal(tsharkField(outer, 'ip.dst'), fromClient ? '192.168.1.12' : '192.168.1.11');
      assert.equal(tsharkField(inner, 'ip.dst'), fromClient ? '10.0.2.100' : '10.0.1.50');
    }
    assert.match(text, /GET \/ HTTP\/1\.1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
