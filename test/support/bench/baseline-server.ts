// The baseline: a minimal Node `ws` server with no protocol. `POST /trigger` sends its body, as
// one text frame, to every connected socket; nothing is parsed, authorized or stored. It prints
// its port on stdout. Run by ./servers.ts in its own process, so it is measured like workerd.
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

const sockets = new Set<WebSocket>();
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const frame = Buffer.concat(chunks).toString('utf8');
    for (const ws of sockets) ws.send(frame);
    response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('close', () => sockets.delete(ws));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
