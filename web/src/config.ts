// Where the page connects: `config.json` beside the page (written by `ecgedge watch --web --broker …`), overridden by
// query parameters (?broker=ws://…&prefix=…&device=…&clinician=…&username=…&clientId=…&autoconnect=1). The password is
// never in either: the page asks for it and keeps it in memory only.

import { topicLevelPattern } from './messages.ts';

export interface PageConfig {
  broker: string;
  prefix: string;
  device: string;
  username: string;
  /** The name acknowledgements are published under (the last topic level); the MQTT user name by default. */
  clinician: string;
  clientId: string;
  autoconnect: boolean;
  sessionExpirySeconds: number;
}

const keys = ['broker', 'prefix', 'device', 'username', 'clinician', 'clientId'] as const;

export async function loadConfig(location: Location, storage: Storage | null): Promise<PageConfig> {
  let file: Record<string, unknown> = {};
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) file = await res.json();
  } catch {
    // No config.json (page opened from files or another server): query parameters and the form are enough.
  }
  const query = new URLSearchParams(location.search);
  const pick = (k: string): string => {
    const q = query.get(k);
    if (q != null) return q;
    const v = file[k];
    return typeof v === 'string' ? v : '';
  };
  const cfg = Object.fromEntries(keys.map(k => [k, pick(k)])) as Record<(typeof keys)[number], string>;
  const expiry = Number(file.sessionExpirySeconds);
  return {
    broker: cfg.broker || defaultBroker(location),
    prefix: cfg.prefix || 'ecgedge',
    device: cfg.device || '+',
    username: cfg.username,
    clinician: cfg.clinician || cfg.username,
    clientId: cfg.clientId || stableClientId(storage),
    autoconnect: query.get('autoconnect') === '1' || file.autoconnect === true,
    sessionExpirySeconds: Number.isFinite(expiry) && expiry > 0 ? expiry : 7 * 24 * 3600,
  };
}

/** The page's own client id, kept in localStorage so that a reload resumes the same persistent session. */
function stableClientId(storage: Storage | null): string {
  const key = 'ecgedge.clientId';
  const existing = storage?.getItem(key);
  if (existing) return existing;
  const random = new Uint8Array(6);
  crypto.getRandomValues(random);
  const id = 'ecgedge-web-' + [...random].map(b => b.toString(16).padStart(2, '0')).join('');
  storage?.setItem(key, id);
  return id;
}

/** Without a configured broker: the embedded broker's WebSocket listener of `ecgedge run` on the page's machine. */
function defaultBroker(location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.hostname || '127.0.0.1'}:9001/mqtt`;
}

/** Problems with a configuration before connecting (shown in the form), empty when it is usable. */
export function configProblems(c: PageConfig): string[] {
  const problems: string[] = [];
  if (!/^wss?:\/\/[^/\s]+/.test(c.broker)) problems.push('the broker must be a ws:// or wss:// URL');
  if (!/^[^#+/\s][^#+\s]*$/.test(c.prefix) || c.prefix.endsWith('/')) problems.push('the topic prefix is not a valid topic');
  if (c.device !== '+' && !topicLevelPattern.test(c.device)) problems.push('the device must be one device id or +');
  if (c.clinician && !topicLevelPattern.test(c.clinician)) problems.push('the clinician name must be letters, digits, ".", "_" or "-"');
  return problems;
}
