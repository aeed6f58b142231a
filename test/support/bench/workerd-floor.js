// The workerd floor: the least a Durable Object server can do, run in bare workerd with our
// compatibility date and flags. Like the baseline (./baseline-server.ts) it has no protocol:
// every WebSocket goes to one object, which accepts it as Tidings' shards do (hibernatable,
// ctx.acceptWebSocket) and keeps it in a Set (refilled from ctx.getWebSockets() when the object
// is constructed again); `POST /trigger` passes its body, in one RPC, to that object, which sends
// it as one text frame to every socket. What Tidings takes beyond this is ours; what this takes
// beyond the baseline is workerd's.
import { DurableObject } from 'cloudflare:workers';

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // workerd may construct the object again while its sockets stay open (after a close, say).
    this.sockets = new Set(ctx.getWebSockets());
  }

  fetch() {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    this.sockets.add(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketClose(ws) {
    this.sockets.delete(ws);
  }

  send(text) {
    for (const ws of this.sockets) ws.send(text);
  }
}

export default {
  async fetch(request, env) {
    const room = env.ROOM.get(env.ROOM.idFromName('floor'));
    if (request.headers.get('Upgrade') === 'websocket') return room.fetch(request);
    await room.send(await request.text());
    return Response.json({});
  },
};
