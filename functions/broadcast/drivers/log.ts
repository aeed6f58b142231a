import { type Broadcaster, type PublishRequest, publishEach } from '../broadcaster.ts';

/** `log`: writes each event to the Worker's log instead of sending it (development). */
export class LogBroadcaster implements Broadcaster {
  async publish({ channels, name, data, socketId }: PublishRequest): Promise<void> {
    console.log(JSON.stringify({ level: 'info', msg: 'broadcast', event: name, channels, socket_id: socketId, data }));
  }

  publishBatch(requests: PublishRequest[]): Promise<void> {
    return publishEach(requests, (request) => this.publish(request));
  }
}
