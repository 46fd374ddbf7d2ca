// The wire definitions of Hubble's Observer API as podpath serves it, built
// with protobufjs's reflection API: the messages and fields podpath emits or
// reads, with Hubble's field names and numbers (the reference's §4.2 for the
// observer messages, Hubble's public API for the Flow fields). Names are the
// proto names podpath's Flow already uses (IP, l4, Type, Summary, ...), so a
// Flow encodes nearly as it is (see wire.ts).

import protobuf from 'protobufjs';
import { AUTH_TYPE_NAMES, DROP_REASON_NAMES, FLOW_TYPE_NAMES, IP_VERSION_NAMES, L7_TYPE_NAMES, LOST_EVENT_SOURCE_NAMES, SOCK_XLATE_NAMES, TRACE_REASON_NAMES, TRAFFIC_DIRECTION_NAMES, TraceObservationPoint, VERDICT_NAMES } from '../flow.js';

const { Root, Type, Field, Enum, OneOf } = protobuf;

/** [name, number, type, 'repeated'?] */
type FieldSpec = readonly [string, number, string, 'repeated'?];

function message(name: string, fields: readonly FieldSpec[], oneofs: Record<string, readonly string[]> = {}): protobuf.Type {
  const t = new Type(name);
  for (const [n, id, type, rule] of fields) t.add(new Field(n, id, type, rule));
  for (const [n, members] of Object.entries(oneofs)) t.add(new OneOf(n, [...members]));
  return t;
}

function enumOf(name: string, values: Record<string, number>): protobuf.Enum {
  return new Enum(name, values);
}

function listEnum(name: string, names: readonly string[]): protobuf.Enum {
  return enumOf(name, Object.fromEntries(names.map((n, i) => [n, i])));
}

function buildRoot(): protobuf.Root {
  const root = new Root();

  root.define('google.protobuf').add(message('Timestamp', [['seconds', 1, 'int64'], ['nanos', 2, 'int32']]))
    .add(message('BoolValue', [['value', 1, 'bool']]))
    .add(message('UInt32Value', [['value', 1, 'uint32']]))
    .add(message('Int32Value', [['value', 1, 'int32']]))
    .add(message('FieldMask', [['paths', 1, 'string', 'repeated']]));

  const flow = root.define('flow');
  flow.add(listEnum('Verdict', VERDICT_NAMES));
  flow.add(listEnum('FlowType', FLOW_TYPE_NAMES));
  flow.add(enumOf('TraceObservationPoint', { ...TraceObservationPoint }));
  flow.add(listEnum('TraceReason', TRACE_REASON_NAMES));
  flow.add(listEnum('IPVersion', IP_VERSION_NAMES));
  flow.add(listEnum('L7FlowType', L7_TYPE_NAMES));
  flow.add(listEnum('TrafficDirection', TRAFFIC_DIRECTION_NAMES));
  flow.add(listEnum('AuthType', AUTH_TYPE_NAMES));
  flow.add(listEnum('SocketTranslationPoint', SOCK_XLATE_NAMES));
  flow.add(listEnum('LostEventSource', LOST_EVENT_SOURCE_NAMES));
  flow.add(enumOf('DropReason', Object.fromEntries(Object.entries(DROP_REASON_NAMES).map(([code, n]) => [n, Number(code)]))));

  flow.add(message('Emitter', [['name', 1, 'string'], ['version', 2, 'string']]));
  flow.add(message('Ethernet', [['source', 1, 'string'], ['destination', 2, 'string']]));
  flow.add(message('IP', [['source', 1, 'string'], ['source_xlated', 5, 'string'], ['destination', 2, 'string'], ['ipVersion', 3, 'IPVersion'], ['encrypted', 4, 'bool']]));
  flow.add(message('TCPFlags', ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'].map((n, i) => [n, i + 1, 'bool'] as const)));
  flow.add(message('TCP', [['source_port', 1, 'uint32'], ['destination_port', 2, 'uint32'], ['flags', 3, 'TCPFlags']]));
  flow.add(message('UDP', [['source_port', 1, 'uint32'], ['destination_port', 2, 'uint32']]));
  flow.add(message('SCTP', [['source_port', 1, 'uint32'], ['destination_port', 2, 'uint32']]));
  flow.add(message('ICMPv4', [['type', 1, 'uint32'], ['code', 2, 'uint32']]));
  flow.add(message('ICMPv6', [['type', 1, 'uint32'], ['code', 2, 'uint32']]));
  flow.add(message('Layer4', [['TCP', 1, 'TCP'], ['UDP', 2, 'UDP'], ['ICMPv4', 3, 'ICMPv4'], ['ICMPv6', 4, 'ICMPv6'], ['SCTP', 5, 'SCTP']], { protocol: ['TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP'] }));
  flow.add(message('Workload', [['name', 1, 'string'], ['kind', 2, 'string']]));
  flow.add(
    message('Endpoint', [
      ['ID', 1, 'uint32'],
      ['identity', 2, 'uint32'],
      ['cluster_name', 7, 'string'],
      ['namespace', 3, 'string'],
      ['labels', 4, 'string', 'repeated'],
      ['pod_name', 5, 'string'],
      ['workloads', 6, 'Workload', 'repeated'],
    ]),
  );
  flow.add(message('Service', [['name', 1, 'string'], ['namespace', 2, 'string']]));
  flow.add(message('HTTPHeader', [['key', 1, 'string'], ['value', 2, 'string']]));
  flow.add(message('HTTP', [['code', 1, 'uint32'], ['method', 2, 'string'], ['url', 3, 'string'], ['protocol', 4, 'string'], ['headers', 5, 'HTTPHeader', 'repeated']]));
  flow.add(
    message('DNS', [
      ['query', 1, 'string'],
      ['ips', 2, 'string', 'repeated'],
      ['ttl', 3, 'uint32'],
      ['cnames', 4, 'string', 'repeated'],
      ['observation_source', 5, 'string'],
      ['rcode', 6, 'uint32'],
      ['qtypes', 7, 'string', 'repeated'],
      ['rrtypes', 8, 'string', 'repeated'],
    ]),
  );
  flow.add(message('Layer7', [['type', 1, 'L7FlowType'], ['latency_ns', 2, 'uint64'], ['dns', 100, 'DNS'], ['http', 101, 'HTTP']], { record: ['dns', 'http'] }));
  flow.add(message('CiliumEventType', [['type', 1, 'int32'], ['sub_type', 2, 'int32']]));
  flow.add(message('FileInfo', [['name', 1, 'string'], ['line', 2, 'uint32']]));
  flow.add(message('NetworkInterface', [['index', 1, 'uint32'], ['name', 2, 'string']]));
  flow.add(message('Policy', [['name', 1, 'string'], ['namespace', 2, 'string'], ['labels', 3, 'string', 'repeated'], ['revision', 4, 'uint64'], ['kind', 5, 'string']]));
  flow.add(
    message('Flow', [
      ['time', 1, 'google.protobuf.Timestamp'],
      ['uuid', 34, 'string'],
      ['emitter', 41, 'Emitter'],
      ['verdict', 2, 'Verdict'],
      ['drop_reason', 3, 'uint32'],
      ['auth_type', 35, 'AuthType'],
      ['ethernet', 4, 'Ethernet'],
      ['IP', 5, 'IP'],
      ['l4', 6, 'Layer4'],
      ['source', 8, 'Endpoint'],
      ['destination', 9, 'Endpoint'],
      ['Type', 10, 'FlowType'],
      ['node_name', 11, 'string'],
      ['node_labels', 37, 'string', 'repeated'],
      ['source_names', 13, 'string', 'repeated'],
      ['destination_names', 14, 'string', 'repeated'],
      ['l7', 15, 'Layer7'],
      ['reply', 16, 'bool'],
      ['event_type', 19, 'CiliumEventType'],
      ['source_service', 20, 'Service'],
      ['destination_service', 21, 'Service'],
      ['traffic_direction', 22, 'TrafficDirection'],
      ['policy_match_type', 23, 'uint32'],
      ['trace_observation_point', 24, 'TraceObservationPoint'],
      ['trace_reason', 36, 'TraceReason'],
      ['file', 38, 'FileInfo'],
      ['drop_reason_desc', 25, 'DropReason'],
      ['is_reply', 26, 'google.protobuf.BoolValue'],
      ['interface', 28, 'NetworkInterface'],
      ['proxy_port', 29, 'uint32'],
      ['sock_xlate_point', 31, 'SocketTranslationPoint'],
      ['socket_cookie', 32, 'uint64'],
      ['cgroup_id', 33, 'uint64'],
      ['Summary', 100000, 'string'],
      ['egress_allowed_by', 21001, 'Policy', 'repeated'],
      ['ingress_allowed_by', 21002, 'Policy', 'repeated'],
      ['egress_denied_by', 21004, 'Policy', 'repeated'],
      ['ingress_denied_by', 21005, 'Policy', 'repeated'],
      ['policy_log', 21006, 'string', 'repeated'],
    ]),
  );
  flow.add(message('LostEvent', [['source', 1, 'LostEventSource'], ['num_events_lost', 2, 'uint64'], ['cpu', 3, 'google.protobuf.Int32Value'], ['first', 4, 'google.protobuf.Timestamp'], ['last', 5, 'google.protobuf.Timestamp']]));
  flow.add(message('EventTypeFilter', [['type', 1, 'int32'], ['match_sub_type', 2, 'bool'], ['sub_type', 3, 'int32']]));
  flow.add(
    message('FlowFilter', [
      ['uuid', 29, 'string', 'repeated'],
      ['source_ip', 1, 'string', 'repeated'],
      ['source_ip_xlated', 34, 'string', 'repeated'],
      ['source_pod', 2, 'string', 'repeated'],
      ['source_fqdn', 7, 'string', 'repeated'],
      ['source_label', 10, 'string', 'repeated'],
      ['source_service', 16, 'string', 'repeated'],
      ['source_workload', 26, 'Workload', 'repeated'],
      ['source_cluster_name', 37, 'string', 'repeated'],
      ['destination_ip', 3, 'string', 'repeated'],
      ['destination_pod', 4, 'string', 'repeated'],
      ['destination_fqdn', 8, 'string', 'repeated'],
      ['destination_label', 11, 'string', 'repeated'],
      ['destination_service', 17, 'string', 'repeated'],
      ['destination_workload', 27, 'Workload', 'repeated'],
      ['destination_cluster_name', 38, 'string', 'repeated'],
      ['traffic_direction', 30, 'TrafficDirection', 'repeated'],
      ['verdict', 5, 'Verdict', 'repeated'],
      ['drop_reason_desc', 33, 'DropReason', 'repeated'],
      ['interface', 35, 'NetworkInterface', 'repeated'],
      ['event_type', 6, 'EventTypeFilter', 'repeated'],
      ['http_status_code', 9, 'string', 'repeated'],
      ['protocol', 12, 'string', 'repeated'],
      ['source_port', 13, 'string', 'repeated'],
      ['destination_port', 14, 'string', 'repeated'],
      ['reply', 15, 'bool', 'repeated'],
      ['dns_query', 18, 'string', 'repeated'],
      ['source_identity', 19, 'uint32', 'repeated'],
      ['destination_identity', 20, 'uint32', 'repeated'],
      ['http_method', 21, 'string', 'repeated'],
      ['http_path', 22, 'string', 'repeated'],
      ['http_url', 31, 'string', 'repeated'],
      ['http_header', 32, 'HTTPHeader', 'repeated'],
      ['tcp_flags', 23, 'TCPFlags', 'repeated'],
      ['node_name', 24, 'string', 'repeated'],
      ['node_labels', 36, 'string', 'repeated'],
      ['ip_version', 25, 'IPVersion', 'repeated'],
      ['trace_id', 28, 'string', 'repeated'],
      ['encrypted', 40, 'bool', 'repeated'],
    ]),
  );

  const relay = root.define('relay');
  relay.add(listEnum('NodeState', ['UNKNOWN_NODE_STATE', 'NODE_CONNECTED', 'NODE_UNAVAILABLE', 'NODE_GONE', 'NODE_ERROR']));
  relay.add(message('NodeStatusEvent', [['state_change', 1, 'NodeState'], ['node_names', 2, 'string', 'repeated'], ['message', 3, 'string']]));

  const observer = root.define('observer');
  observer.add(
    message('GetFlowsRequest', [
      ['number', 1, 'uint64'],
      ['first', 9, 'bool'],
      ['follow', 3, 'bool'],
      ['blacklist', 5, 'flow.FlowFilter', 'repeated'],
      ['whitelist', 6, 'flow.FlowFilter', 'repeated'],
      ['since', 7, 'google.protobuf.Timestamp'],
      ['until', 8, 'google.protobuf.Timestamp'],
      ['field_mask', 10, 'google.protobuf.FieldMask'],
    ]),
  );
  observer.add(
    message('GetFlowsResponse', [['flow', 1, 'flow.Flow'], ['node_status', 2, 'relay.NodeStatusEvent'], ['lost_events', 3, 'flow.LostEvent'], ['node_name', 1000, 'string'], ['time', 1001, 'google.protobuf.Timestamp']], {
      response_types: ['flow', 'node_status', 'lost_events'],
    }),
  );
  observer.add(message('ServerStatusRequest', []));
  observer.add(
    message('ServerStatusResponse', [
      ['num_flows', 1, 'uint64'],
      ['max_flows', 2, 'uint64'],
      ['seen_flows', 3, 'uint64'],
      ['uptime_ns', 4, 'uint64'],
      ['num_connected_nodes', 5, 'google.protobuf.UInt32Value'],
      ['num_unavailable_nodes', 6, 'google.protobuf.UInt32Value'],
      ['unavailable_nodes', 7, 'string', 'repeated'],
      ['version', 8, 'string'],
      ['flows_rate', 9, 'double'],
    ]),
  );
  observer.add(message('GetNodesRequest', []));
  observer.add(message('TLS', [['enabled', 1, 'bool'], ['server_name', 2, 'string']]));
  observer.add(
    message('Node', [
      ['name', 1, 'string'],
      ['version', 2, 'string'],
      ['address', 3, 'string'],
      ['state', 4, 'relay.NodeState'],
      ['tls', 5, 'TLS'],
      ['uptime_ns', 6, 'uint64'],
      ['num_flows', 7, 'uint64'],
      ['max_flows', 8, 'uint64'],
      ['seen_flows', 9, 'uint64'],
    ]),
  );
  observer.add(message('GetNodesResponse', [['nodes', 1, 'Node', 'repeated']]));
  observer.add(message('GetNamespacesRequest', []));
  observer.add(message('Namespace', [['cluster', 1, 'string'], ['namespace', 2, 'string']]));
  observer.add(message('GetNamespacesResponse', [['namespaces', 1, 'Namespace', 'repeated']]));

  const health = root.define('grpc.health.v1');
  health.add(listEnum('ServingStatus', ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']));
  health.add(message('HealthCheckRequest', [['service', 1, 'string']]));
  health.add(message('HealthCheckResponse', [['status', 1, 'ServingStatus']]));

  root.resolveAll();
  return root;
}

export const root = buildRoot();

function type(name: string): protobuf.Type {
  return root.lookupType(name);
}

export const T = {
  Flow: type('flow.Flow'),
  FlowFilter: type('flow.FlowFilter'),
  GetFlowsRequest: type('observer.GetFlowsRequest'),
  GetFlowsResponse: type('observer.GetFlowsResponse'),
  ServerStatusRequest: type('observer.ServerStatusRequest'),
  ServerStatusResponse: type('observer.ServerStatusResponse'),
  GetNodesRequest: type('observer.GetNodesRequest'),
  GetNodesResponse: type('observer.GetNodesResponse'),
  GetNamespacesRequest: type('observer.GetNamespacesRequest'),
  GetNamespacesResponse: type('observer.GetNamespacesResponse'),
  HealthCheckRequest: type('grpc.health.v1.HealthCheckRequest'),
  HealthCheckResponse: type('grpc.health.v1.HealthCheckResponse'),
} as const;

export const OBSERVER_SERVICE = 'observer.Observer';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const NODE_STATE = { UNKNOWN_NODE_STATE: 0, NODE_CONNECTED: 1, NODE_UNAVAILABLE: 2, NODE_GONE: 3, NODE_ERROR: 4 } as const;
export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
