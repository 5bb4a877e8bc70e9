/**
 * The terminal connection over a fake WebSocket: Lab's messages both ways,
 * queued input until the server's `setup`, the end of the shell; the tab title.
 */
import { ServerConnection } from '@jupyterlab/services';
import type { Terminal } from '@jupyterlab/services';
import { terminalSocketUrl } from '../api';
import { ClusterTerminalConnection } from '../connection';
import { terminalTitle } from '../title';

class FakeSocket {
  static last: FakeSocket | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  sent: string[] = [];
  closed = false;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: (() => void) | null = null;
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
  }
  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

const settings = ServerConnection.makeSettings({
  baseUrl: 'http://localhost:8888/',
  wsUrl: 'ws://localhost:8888/',
  token: 'abc',
  appendToken: true,
  WebSocket: FakeSocket as unknown as typeof WebSocket
});

describe('ClusterTerminalConnection', () => {
  it('connects at setup, sends what was typed before, passes output on', () => {
    const connection = new ClusterTerminalConnection({
      cluster: 'hpc one',
      name: 'abc123',
      serverSettings: settings
    });
    const socket = FakeSocket.last!;
    expect(socket.url).toBe(
      'ws://localhost:8888/jupyter-rpc/clusters/hpc%20one/terminals/abc123/websocket?token=abc'
    );
    const received: Terminal.IMessage[] = [];
    connection.messageReceived.connect((_, m) => received.push(m));
    connection.send({ type: 'stdin', content: ['ls\r'] });
    expect(connection.connectionStatus).toBe('connecting');
    expect(socket.sent).toEqual([]);
    socket.receive(['setup', {}]);
    expect(connection.connectionStatus).toBe('connected');
    expect(socket.sent).toEqual([JSON.stringify(['stdin', 'ls\r'])]);
    connection.send({ type: 'set_size', content: [24, 80, 400, 600] });
    expect(socket.sent[1]).toBe(JSON.stringify(['set_size', 24, 80, 400, 600]));
    socket.receive(['stdout', 'hello']);
    expect(received).toEqual([{ type: 'stdout', content: ['hello'] }]);
    socket.receive(['disconnect', 1]);
    expect(received[1]).toEqual({ type: 'disconnect', content: [1] });
    expect(connection.isDisposed).toBe(true);
    expect(connection.connectionStatus).toBe('disconnected');
    expect(socket.closed).toBe(true);
  });

  it('builds the websocket URL without a token when none is appended', () => {
    const plain = ServerConnection.makeSettings({
      wsUrl: 'ws://h/base/',
      appendToken: false
    });
    expect(terminalSocketUrl('c', 't/1', plain)).toBe(
      'ws://h/base/jupyter-rpc/clusters/c/terminals/t%2F1/websocket'
    );
  });
});

describe('terminalTitle', () => {
  it('is user@cluster: folder', () => {
    expect(terminalTitle('ada', 'levante', 'home/run/')).toBe(
      'ada@levante: run'
    );
    expect(terminalTitle('ada', 'levante', '')).toBe('ada@levante: ~');
    expect(terminalTitle('', 'local', 'home')).toBe('local: home');
    expect(terminalTitle('ada', 'levante', 'home', '42')).toBe(
      'ada@levante: job 42'
    );
  });
});
