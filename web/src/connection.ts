// The connection indicator in the header: connected / reconnecting / offline, as text and colour.
import { byId } from './dom.ts';
import type { ConnectionStatus } from './realtime.ts';

const LABELS: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const TITLES: Record<ConnectionStatus, string> = {
  connecting: 'Connecting to the realtime server',
  connected: 'Connected: new email appears at once',
  reconnecting: 'Connection lost; trying again. Missed email will be fetched when back.',
  offline: 'Offline: new email will appear when the connection is back',
};

/** Shows the connection state; `data-state` carries it for styling and tests. */
export function showConnection(state: ConnectionStatus): void {
  const indicator = byId('connection');
  indicator.dataset.state = state;
  indicator.title = TITLES[state];
  byId('connection-label').textContent = LABELS[state];
}
