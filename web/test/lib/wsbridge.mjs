// MQTT over WebSockets → plain MQTT over TCP, for the load test: every WebSocket connection gets its own TCP connection
// to the broker and the bytes are copied both ways unchanged (MQTT packets in binary frames, as mqtt.js sends them).
// mosquitto 2.0.11's own WebSockets listener sends large messages slowly (docs/web.md); through this bridge the page
// gets them as fast as the broker's TCP listener sends them.
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

export function startBridge(tcpPort) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: protocols => (protocols.has('mqtt') ? 'mqtt' : false) });
  wss.on('connection', ws => {
    const tcp = connect(tcpPort, '127.0.0.1');
    tcp.setNoDelay(true);
    const pending = [];
    tcp.on('connect', () => { for (const b of pending.splice(0)) tcp.write(b); });
    ws.on('message', data => (tcp.readyState === 'open' ? tcp.write(data) : pending.push(data)));
    tcp.on('data', data => ws.send(data, { binary: true }));
    const close = () => { ws.terminate(); tcp.destroy(); };
    ws.on('close', close);
    ws.on('error', close);
    tcp.on('close', close);
    tcp.on('error', close);
  });
  return new Promise(ok => wss.on('listening', () => ok({ url: `ws://127.0.0.1:${wss.address().port}`, close: () => wss.close() })));
}
