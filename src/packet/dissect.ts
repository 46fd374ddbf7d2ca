// Whole-frame dissection into a tree of reprs, and Cilium's monitor summary.
import { isParseFailure, type ParseFailure } from './error.js';
import { ETH, EtherType, parseEthernet, type EthernetRepr } from './ethernet.js';
import { parseArp, type ArpRepr } from './arp.js';
import { IpProto, ipv4HeaderLen, parseIpv4, type Ipv4Repr } from './ipv4.js';
import { parseTcp, tcpFlagsToString, type TcpRepr } from './tcp.js';
import { UDP, parseUdp, type UdpRepr } from './udp.js';
import { Icmpv4Type, icmpv4TypeCodeName, parseIcmpv4, type Icmpv4Repr } from './icmpv4.js';
import { VXLAN, VXLAN_PORT, parseVxlan } from './vxlan.js';
import { ipv4ToString } from './ip.js';
import { macToString } from './mac.js';

export interface DissectedFrame {
  /** Absent only when the frame is too short for an Ethernet header. */
  eth?: EthernetRepr;
  arp?: ArpRepr;
  ipv4?: Ipv4Repr;
  tcp?: TcpRepr;
  udp?: UdpRepr;
  icmp?: Icmpv4Repr;
  vxlan?: { vni: number; inner: DissectedFrame };
  /** The first layer that failed; the layers above it are absent. */
  error?: ParseFailure;
}

export interface DissectOptions {
  /** Verify IPv4/TCP/UDP/ICMP checksums (default true). */
  verifyChecksums?: boolean;
  /** How deep VXLAN-in-VXLAN may nest (default 2), so hostile input cannot recurse forever. */
  maxDepth?: number;
}

/**
 * Dissects Ethernet → ARP | IPv4 → TCP | UDP (→ VXLAN on dst port 8472 →
 * inner frame) | ICMPv4. Never throws on packet contents. Non-first and first
 * IPv4 fragments stop at the IPv4 layer: their L4 header is incomplete or
 * absent and the checksum covers the reassembled datagram.
 */
export function dissectFrame(buf: Uint8Array, off = 0, len = buf.length - off, opts: DissectOptions = {}): DissectedFrame {
  return dissectAt(buf, off, len, opts.verifyChecksums ?? true, opts.maxDepth ?? 2);
}

function dissectAt(buf: Uint8Array, off: number, len: number, verify: boolean, depth: number): DissectedFrame {
  const tree: DissectedFrame = {};
  const eth = parseEthernet(buf, off, len);
  if (isParseFailure(eth)) {
    tree.error = eth;
    return tree;
  }
  tree.eth = eth;
  const l3 = off + ETH.HEADER_LEN;
  const l3len = len - ETH.HEADER_LEN;
  if (eth.ethertype === EtherType.ARP) {
    const arp = parseArp(buf, l3, l3len);
    if (isParseFailure(arp)) tree.error = arp;
    else tree.arp = arp;
    return tree;
  }
  if (eth.ethertype !== EtherType.IPv4) return tree;

  const ip = parseIpv4(buf, l3, l3len, { verifyChecksum: verify });
  if (isParseFailure(ip)) {
    tree.error = ip;
    return tree;
  }
  tree.ipv4 = ip;
  if (ip.isFragment) return tree;
  const l4 = l3 + ipv4HeaderLen(ip);
  const l4len = ip.payloadLen;
  switch (ip.protocol) {
    case IpProto.TCP: {
      const tcp = parseTcp(buf, l4, l4len, ip.src, ip.dst, { verifyChecksum: verify });
      if (isParseFailure(tcp)) tree.error = tcp;
      else tree.tcp = tcp;
      break;
    }
    case IpProto.UDP: {
      const udp = parseUdp(buf, l4, l4len, ip.src, ip.dst, { verifyChecksum: verify });
      if (isParseFailure(udp)) {
        tree.error = udp;
        break;
      }
      tree.udp = udp;
      if (udp.dstPort === VXLAN_PORT && depth > 0) {
        const vxOff = l4 + UDP.HEADER_LEN;
        const vx = parseVxlan(buf, vxOff, udp.payload.length);
        if (isParseFailure(vx)) {
          tree.error = vx;
          break;
        }
        const innerOff = vxOff + VXLAN.HEADER_LEN;
        tree.vxlan = { vni: vx.vni, inner: dissectAt(buf, innerOff, udp.payload.length - VXLAN.HEADER_LEN, verify, depth - 1) };
      }
      break;
    }
    case IpProto.ICMP: {
      const icmp = parseIcmpv4(buf, l4, l4len, { verifyChecksum: verify });
      if (isParseFailure(icmp)) tree.error = icmp;
      else tree.icmp = icmp;
      break;
    }
    default:
      break;
  }
  return tree;
}

function icmpTypeCode(icmp: Icmpv4Repr): [number, number] {
  switch (icmp.kind) {
    case 'echoRequest':
      return [Icmpv4Type.EchoRequest, 0];
    case 'echoReply':
      return [Icmpv4Type.EchoReply, 0];
    case 'dstUnreachable':
      return [Icmpv4Type.DestinationUnreachable, icmp.code];
    case 'timeExceeded':
      return [Icmpv4Type.TimeExceeded, icmp.code];
  }
}

/**
 * Cilium monitor's connection summary (GetConnectionSummary), for the
 * outermost packet:
 *   10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN
 *   10.0.1.50:53000 -> 10.96.0.10:53 udp
 *   10.0.1.50 -> 10.0.2.100 EchoRequest
 *   10.0.1.50 -> 10.0.2.100            (other IP protocols, fragments)
 *   ce:38:1f:4b:21:dd -> ff:ff:ff:ff:ff:ff ARP
 * For VXLAN, pass tree.vxlan.inner to describe the encapsulated packet.
 */
export function connectionSummary(tree: DissectedFrame): string {
  const ip = tree.ipv4;
  if (ip) {
    const src = ipv4ToString(ip.src);
    const dst = ipv4ToString(ip.dst);
    if (tree.tcp) {
      const flags = tcpFlagsToString(tree.tcp.flags);
      return `${src}:${tree.tcp.srcPort} -> ${dst}:${tree.tcp.dstPort} tcp${flags ? ` ${flags}` : ''}`;
    }
    if (tree.udp) return `${src}:${tree.udp.srcPort} -> ${dst}:${tree.udp.dstPort} udp`;
    if (tree.icmp) {
      const [type, code] = icmpTypeCode(tree.icmp);
      return `${src} -> ${dst} ${icmpv4TypeCodeName(type, code)}`;
    }
    return `${src} -> ${dst}`;
  }
  if (tree.eth) {
    const t = tree.eth.ethertype;
    const name = t === EtherType.ARP ? 'ARP' : t === EtherType.IPv4 ? 'IPv4' : t === EtherType.IPv6 ? 'IPv6' : `UnknownEthernetType`;
    return `${macToString(tree.eth.src)} -> ${macToString(tree.eth.dst)} ${name}`;
  }
  return '[unknown]';
}
