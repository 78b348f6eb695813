// The clinician page: wires the broker link, the stores and the views. Messages update the stores at once; the views
// are redrawn at most once per animation frame.

import { renderActive, type ActiveRow } from './activeView.ts';
import { AlertList } from './alertList.ts';
import { AlertStore, type AlertEntry, type AlertFilter } from './alertStore.ts';
import { BrokerLink, type LinkState } from './broker.ts';
import { configProblems, loadConfig, type PageConfig } from './config.ts';
import { DetailView } from './detail.ts';
import { DeviceStore } from './deviceStore.ts';
import { renderDevices } from './deviceTable.ts';
import { alertTypes, InvalidMessageError, newId, parseAck, parseActive, parseAlert, parseStatus, parseVitals, severities, type Ack } from './messages.ts';
import { ackTopic, parseTopic } from './topics.ts';
import { typeName } from './stripCanvas.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const alerts = new AlertStore();
const devices = new DeviceStore();
let config: PageConfig;
let link: BrokerLink | null = null;
let linkState: LinkState = 'closed';
let frameRequested = false;
let devicesDrawn = -1;
let activeDrawn = '';
let deviceOptions = '';
let lastDeviceTick = 0;
const stats = { messages: 0, invalid: 0, firstMessageAt: 0, lastMessageAt: 0, lastRenderMs: 0, maxRenderMs: 0 };

const list = new AlertList($('alert-list'), entry => select(entry));
const ackBlocked = (): string | null =>
  !config?.clinician ? 'Set a clinician name (or user name) in Connection to acknowledge.' :
  linkState !== 'connected' ? 'Not connected to the broker.' : null;
const detail = new DetailView($('detail'), {
  acknowledge: (entry, note) => {
    const a = entry.alert;
    if (a) acknowledge({ alertId: a.id, episodeId: a.episodeId, deviceId: a.deviceId }, note);
  },
  ackBlocked,
});
const activeActions = {
  acknowledge: (episode: { alertId: string; episodeId: string }, deviceId: string) => acknowledge({ ...episode, deviceId }, ''),
  clinician: () => config?.clinician ?? '',
  ackBlocked,
  select: (alertId: string): boolean => {
    const entry = alerts.get(alertId);
    if (!entry) return false;
    select(entry);
    return true;
  },
};

function select(entry: AlertEntry): void {
  list.select(entry.key);
  detail.show(entry);
}

function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(render);
}

function render(): void {
  frameRequested = false;
  const started = performance.now();
  const changed = alerts.flush();
  if (changed || alertsDirty) {
    alertsDirty = false;
    list.update(alerts.visible());
    updateCounts();
    detail.refresh();
  }
  const activeKey = `${devices.changeCount}/${alerts.ackVersion}/${linkState}/${config?.clinician ?? ''}`;
  if (activeKey !== activeDrawn) {
    activeDrawn = activeKey;
    renderActiveAlarms();
  }
  const now = Date.now();
  if (devices.changeCount !== devicesDrawn || now - lastDeviceTick > 1000) {
    devicesDrawn = devices.changeCount;
    lastDeviceTick = now;
    renderDevices($<HTMLTableSectionElement>('device-rows'), devices.list(), linkState === 'connected', now);
    updateDeviceFilter();
  }
  const ms = performance.now() - started;
  stats.lastRenderMs = ms;
  stats.maxRenderMs = Math.max(stats.maxRenderMs, ms);
  if (alerts.pendingCount > 0) schedule();
}

let alertsDirty = false;
function markAlertsDirty(): void {
  alertsDirty = true;
  schedule();
}

function renderActiveAlarms(): void {
  const rows: ActiveRow[] = devices.activeEpisodes().map(({ device, episode }) => ({
    device, episode,
    acks: alerts.acksFor(episode.alertId),
    earlierAcks: alerts.acksForEpisode(episode.episodeId).filter(k => k.alertId !== episode.alertId),
    ackState: alerts.ackStateOf(episode.alertId),
  }));
  const { interrupted, stopped } = devices.notMonitoring();
  renderActive($<HTMLTableSectionElement>('active-rows'), rows, linkState === 'connected', activeActions, interrupted);
  $('active-count').textContent = [rows.length > 0 ? `${rows.length} open` : '', interrupted.length > 0 ? `${interrupted.length} not monitored` : '']
    .filter(Boolean).join(' · ');
  $('active-count').dataset.open = String(rows.length);
  $('active-count').dataset.interrupted = String(interrupted.length);
  // Beside "Devices": how many no longer monitor their patient (interrupted in red, stopped marked).
  const count = $('monitoring-count');
  count.textContent = [interrupted.length > 0 ? `${interrupted.length} monitoring interrupted` : '', stopped.length > 0 ? `${stopped.length} monitoring stopped` : '']
    .filter(Boolean).join(' · ');
  count.dataset.interrupted = String(interrupted.length);
  count.dataset.stopped = String(stopped.length);
}

function updateCounts(): void {
  const shown = list.length;
  const total = alerts.size;
  $('alert-count').textContent = shown === total ? `${total} alert(s)` : `${shown} of ${total} alert(s)`;
  $('alert-count').dataset.total = String(total);
  $('alert-count').dataset.shown = String(shown);
  $('duplicates').textContent = alerts.duplicates > 0 ? `${alerts.duplicates} duplicate(s) dropped` : '';
}

function updateDeviceFilter(): void {
  const ids = [...new Set([...devices.ids, ...alerts.devices])].sort();
  const key = ids.join('\n');
  if (key === deviceOptions) return;
  deviceOptions = key;
  const select = $<HTMLSelectElement>('filter-device');
  const current = select.value;
  select.replaceChildren(option('', 'all devices'), ...ids.map(id => option(id, id)));
  select.value = ids.includes(current) ? current : '';
}

function option(value: string, text: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

function onMessage(topic: string, payload: string): void {
  stats.messages++;
  stats.lastMessageAt = performance.now();
  if (!stats.firstMessageAt) stats.firstMessageAt = stats.lastMessageAt;
  const t = parseTopic(config.prefix, topic);
  if (!t) return;
  try {
    switch (t.kind) {
      case 'alerts':
        alerts.add(parseAlert(topic, t.deviceId, payload));
        break;
      case 'status':
        if (payload.length === 0) return; // a cleared retained status
        devices.setStatus(parseStatus(topic, t.deviceId, payload));
        break;
      case 'vitals':
        devices.setVitals(parseVitals(topic, t.deviceId, payload));
        break;
      case 'active':
        // An empty retained payload clears the list on the broker.
        devices.setActive(t.deviceId, payload.length === 0 ? null : parseActive(topic, t.deviceId, payload));
        break;
      case 'acks':
        // Acks are retained, one per clinician and alert; an empty payload is a cleared ack.
        if (payload.length === 0 ? alerts.removeAck(t.alertId!, t.by!) : alerts.addAck(parseAck(topic, t.deviceId, t.by!, t.alertId!, payload)))
          markAlertsDirty();
        break;
    }
  } catch (err) {
    stats.invalid++;
    const reason = err instanceof InvalidMessageError ? err.reason : `unexpected error: ${(err as Error).message}`;
    if (!(err instanceof InvalidMessageError)) console.error(err);
    if (t.kind === 'alerts') alerts.addInvalid(topic, reason, payload);
    else if (t.kind === 'status' || t.kind === 'vitals' || t.kind === 'active') devices.setInvalid(t.deviceId, `${t.kind}: ${reason}`);
    else console.warn(`ignored an invalid ack on ${topic}: ${reason}`);
  }
  schedule();
}

function onState(state: LinkState, detailText: string): void {
  linkState = state;
  const el = $('link-state');
  el.dataset.state = state;
  const labels: Record<LinkState, string> = {
    connecting: 'connecting…', connected: 'connected', reconnecting: 'reconnecting…', disconnected: 'disconnected', refused: 'refused', closed: 'not connected',
  };
  el.textContent = labels[state];
  el.title = `${config?.broker ?? ''} ${detailText}`.trim();
  const banner = $('banner');
  const down = state === 'disconnected' || state === 'reconnecting' || state === 'refused';
  banner.hidden = !down;
  if (state === 'refused') {
    // Not retried: the user has to connect again (the form, with the password field empty).
    banner.textContent = `The broker refused the connection (${detailText}). Not connected: enter the password again and connect.`;
    $('connect-form').hidden = false;
  } else if (down)
    banner.textContent = `Disconnected from the broker (${detailText}). Reconnecting automatically; device states and alerts ` +
      'may be out of date until the link is back. Alerts sent meanwhile are queued by the broker and will appear.';
  devicesDrawn = -1; // states become stale or fresh
  markAlertsDirty(); // the ack button depends on the link
}

/**
 * Acknowledges an alert — from the feed, or an open episode's latest alert that the page may never have received —
 * with a retained ack on {prefix}/{device}/acks/{clinician}/{alertId}: the broker keeps it for every page opened later.
 */
function acknowledge(target: { alertId: string; episodeId: string; deviceId: string }, note: string): void {
  if (!link || !config.clinician) return;
  const ack: Ack = {
    schema: 'ecgedge.ack/1', id: newId(), alertId: target.alertId, episodeId: target.episodeId, deviceId: target.deviceId,
    by: config.clinician, at: new Date().toISOString(),
  };
  if (note) ack.note = note.slice(0, 500);
  alerts.setAckState(target.alertId, 'sending');
  markAlertsDirty();
  link.publish(ackTopic(config.prefix, target.deviceId, config.clinician, target.alertId), JSON.stringify(ack), ack.id, true).then(
    () => {
      // The echo of our own ack (we subscribe to acks) may already have arrived.
      if (!alerts.acksFor(target.alertId).some(k => k.id === ack.id)) alerts.setAckState(target.alertId, 'sent');
      markAlertsDirty();
    },
    (err: Error) => {
      alerts.setAckState(target.alertId, 'refused', err.message);
      markAlertsDirty();
    });
}

function readFilter(): AlertFilter {
  return {
    device: $<HTMLSelectElement>('filter-device').value,
    type: $<HTMLSelectElement>('filter-type').value,
    severity: $<HTMLSelectElement>('filter-severity').value,
    unackedOnly: $<HTMLInputElement>('filter-unacked').checked,
  };
}

function setUpFilters(): void {
  $('filter-type').append(...alertTypes.map(t => option(t, typeName(t))));
  $('filter-severity').append(...severities.map(s => option(s, `${s} or higher`)));
  for (const id of ['filter-device', 'filter-type', 'filter-severity', 'filter-unacked'])
    $(id).addEventListener('change', () => {
      alerts.setFilter(readFilter());
      markAlertsDirty();
    });
}

function fillForm(c: PageConfig): void {
  for (const k of ['broker', 'prefix', 'device', 'username', 'clinician'] as const) $<HTMLInputElement>(`cfg-${k}`).value = c[k];
}

function readForm(): PageConfig {
  const v = (k: string) => $<HTMLInputElement>(`cfg-${k}`).value.trim();
  return { ...config, broker: v('broker'), prefix: v('prefix') || 'ecgedge', device: v('device') || '+', username: v('username'), clinician: v('clinician') || v('username') };
}

async function connect(c: PageConfig, password: string): Promise<void> {
  if (link) await link.stop();
  config = c;
  $('who').textContent = c.clinician ? `as ${c.clinician}` : '';
  link = new BrokerLink({
    url: c.broker, prefix: c.prefix, device: c.device, clientId: c.clientId, username: c.username || undefined,
    password: password || undefined, sessionExpirySeconds: c.sessionExpirySeconds, reconnectMs: 2000,
  }, { onState, onMessage });
  link.start();
}

async function main(): Promise<void> {
  setUpFilters();
  config = await loadConfig(window.location, safeStorage());
  fillForm(config);
  const form = $<HTMLFormElement>('connect-form');
  form.addEventListener('submit', e => {
    e.preventDefault();
    const c = readForm();
    const problems = configProblems(c);
    $('form-problems').replaceChildren(...problems.map(p => Object.assign(document.createElement('li'), { textContent: p })));
    if (problems.length > 0) return;
    const password = $<HTMLInputElement>('cfg-password').value;
    $<HTMLInputElement>('cfg-password').value = '';
    form.hidden = true;
    void connect(c, password);
  });
  $('settings-button').addEventListener('click', () => { form.hidden = !form.hidden; });
  const problems = configProblems(config);
  if (config.autoconnect && problems.length === 0) await connect(config, '');
  else form.hidden = false;
  schedule();
  setInterval(schedule, 1000); // ages of vitals, stale states
}

function safeStorage(): Storage | null {
  try { return window.localStorage; } catch { return null; }
}

// Diagnostics for tests and support: counts and render timings (no patient data).
(window as unknown as { ecgedgeStats: () => object }).ecgedgeStats = () => ({
  ...stats, alerts: alerts.size, visible: list.length, duplicates: alerts.duplicates, link: linkState, devices: devices.ids.length,
  activeEpisodes: devices.activeEpisodes().length,
  monitoringInterrupted: devices.notMonitoring().interrupted.length,
  lastStripMs: detail.lastStripMs,
});

void main();
