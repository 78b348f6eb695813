// The topic tree of docs/mqtt.md: {prefix}/{deviceId}/{alerts|events|vitals|status|active} and, for acknowledgements
// (retained, one per clinician and alert), {prefix}/{deviceId}/acks/{clinician}/{alertId}.

export type TopicKind = 'alerts' | 'vitals' | 'status' | 'active' | 'acks';

export interface ParsedTopic {
  kind: TopicKind;
  deviceId: string;
  /** The acknowledging clinician (acks only). */
  by?: string;
  /** The acknowledged alert (acks only). */
  alertId?: string;
}

/** The subscriptions of the page: filter → QoS. The retained ones (status, active, acks) give a new page the state. */
export function subscriptions(prefix: string, device = '+'): Record<string, { qos: 0 | 1 }> {
  return {
    [`${prefix}/${device}/status`]: { qos: 1 },
    [`${prefix}/${device}/vitals`]: { qos: 0 },
    [`${prefix}/${device}/alerts`]: { qos: 1 },
    [`${prefix}/${device}/active`]: { qos: 1 },
    [`${prefix}/${device}/acks/+/+`]: { qos: 1 },
  };
}

export function ackTopic(prefix: string, deviceId: string, by: string, alertId: string): string {
  return `${prefix}/${deviceId}/acks/${by}/${alertId}`;
}

const singleLevel: readonly string[] = ['alerts', 'vitals', 'status', 'active'];

/** Splits a topic of ours; null for anything else (it is ignored). */
export function parseTopic(prefix: string, topic: string): ParsedTopic | null {
  if (!topic.startsWith(prefix + '/')) return null;
  const levels = topic.slice(prefix.length + 1).split('/');
  const [deviceId, kind, by, alertId] = levels;
  if (!deviceId) return null;
  if (levels.length === 2 && singleLevel.includes(kind)) return { kind: kind as TopicKind, deviceId };
  if (levels.length === 4 && kind === 'acks' && by && alertId) return { kind, deviceId, by, alertId };
  return null;
}
