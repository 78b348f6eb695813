// The topic tree of docs/mqtt.md: {prefix}/{deviceId}/{alerts|events|vitals|status} and, for acknowledgements,
// {prefix}/{deviceId}/acks/{clinician}.

export type TopicKind = 'alerts' | 'vitals' | 'status' | 'acks';

export interface ParsedTopic {
  kind: TopicKind;
  deviceId: string;
  /** The acknowledging clinician (acks only). */
  by?: string;
}

/** The subscriptions of the page: filter → QoS. */
export function subscriptions(prefix: string, device = '+'): Record<string, { qos: 0 | 1 }> {
  return {
    [`${prefix}/${device}/status`]: { qos: 1 },
    [`${prefix}/${device}/vitals`]: { qos: 0 },
    [`${prefix}/${device}/alerts`]: { qos: 1 },
    [`${prefix}/${device}/acks/+`]: { qos: 1 },
  };
}

export function ackTopic(prefix: string, deviceId: string, by: string): string {
  return `${prefix}/${deviceId}/acks/${by}`;
}

/** Splits a topic of ours; null for anything else (it is ignored). */
export function parseTopic(prefix: string, topic: string): ParsedTopic | null {
  if (!topic.startsWith(prefix + '/')) return null;
  const levels = topic.slice(prefix.length + 1).split('/');
  const [deviceId, kind, by] = levels;
  if (!deviceId) return null;
  if (levels.length === 2 && (kind === 'alerts' || kind === 'vitals' || kind === 'status')) return { kind, deviceId };
  if (levels.length === 3 && kind === 'acks' && by) return { kind, deviceId, by };
  return null;
}
