// The page's MQTT-over-WebSockets link (mqtt.js): MQTT 5, persistent session (clean start off, session expiry), so
// alerts published while the page is closed are queued by the broker; automatic reconnect and resubscribe. The state
// is reported to the page, which shows a disconnected banner and treats device states as stale while the link is down.
// A broker that refuses the connection (CONNACK reason code, e.g. 0x86/0x87 for a wrong password) ends the link: mqtt.js
// does not retry it, and the page reports 'refused' with the reason until the user connects again.

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { subscriptions } from './topics.ts';

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'refused' | 'closed';

/** CONNACK reason codes that mean the credentials were not accepted (MQTT 5: bad user name or password, not authorized). */
export const authRefusalCodes: readonly number[] = [134, 135];

export interface BrokerSettings {
  url: string;           // ws://host:port/path or wss://…
  prefix: string;
  device: string;        // '+' = all devices
  clientId: string;
  username?: string;
  password?: string;
  sessionExpirySeconds: number;
  reconnectMs: number;
}

export interface LinkEvents {
  onState(state: LinkState, detail: string): void;
  onMessage(topic: string, payload: string): void;
}

export class BrokerLink {
  private client: MqttClient | null = null;
  private attempts = 0;
  private refused = false;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(private readonly settings: BrokerSettings, private readonly events: LinkEvents) {}

  get connected(): boolean { return this.client?.connected ?? false; }

  start(): void {
    const s = this.settings;
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: s.clientId,
      clean: false,
      keepalive: 20,
      reconnectPeriod: s.reconnectMs,
      connectTimeout: 10_000,
      resubscribe: true,
      properties: { sessionExpiryInterval: s.sessionExpirySeconds },
      username: s.username || undefined,
      password: s.password || undefined,
    };
    this.events.onState('connecting', s.url);
    const client = mqtt.connect(s.url, options);
    this.client = client;
    client.on('connect', ack => {
      this.attempts = 0;
      // With a session present the broker still has our subscriptions; subscribing again is harmless (retained
      // statuses are re-sent, which the device list absorbs) and covers a broker that lost its persistence.
      client.subscribe(subscriptions(s.prefix, s.device), err => {
        if (err) this.events.onState('connected', `subscribe failed: ${err.message}`);
      });
      this.events.onState('connected', ack.sessionPresent ? 'session resumed' : 'new session');
    });
    client.on('reconnect', () => {
      this.attempts++;
      this.events.onState('reconnecting', `attempt ${this.attempts}`);
    });
    client.on('close', () => {
      if (this.client === client && !client.disconnecting && !this.refused) this.events.onState('disconnected', 'connection lost');
    });
    client.on('offline', () => { if (!this.refused) this.events.onState('disconnected', 'broker unreachable'); });
    client.on('error', err => {
      // mqtt.js reports a CONNACK refusal as "Connection refused: <reason>" with the reason code and does not reconnect.
      const code = (err as Error & { code?: unknown }).code;
      if (!client.connected && typeof code === 'number' && err.message.startsWith('Connection refused')) {
        this.refused = true;
        this.events.onState('refused', authRefusalCodes.includes(code) ? `${err.message}: check the user name and password` : err.message);
        return;
      }
      this.events.onState(client.connected ? 'connected' : 'disconnected', err.message);
    });
    client.on('message', (topic, payload) => this.events.onMessage(topic, this.decoder.decode(payload)));
  }

  /** Publishes at QoS 1 (retained: the broker keeps it for later subscribers); resolves once the broker acknowledged
   * (PUBACK), rejects with its reason otherwise. */
  publish(topic: string, payload: string, messageId: string, retain = false): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, {
        qos: 1,
        retain,
        properties: { contentType: 'application/json', payloadFormatIndicator: true, userProperties: { 'message-id': messageId } },
      }, err => (err ? reject(err) : resolve()));
    });
  }

  stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.events.onState('closed', '');
    return new Promise(resolve => (client ? client.end(false, {}, () => resolve()) : resolve()));
  }
}
