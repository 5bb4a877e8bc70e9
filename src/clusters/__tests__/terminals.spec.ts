/**
 * ClusterTerminals: a cluster's open terminals as `GET .../terminals` lists
 * them, and ending one. The server is a small in-process stand-in answering
 * the REST contract through the settings' `fetch`; the real flow runs in the
 * browser (ui-tests/test_terminals.py).
 */
import { ServerConnection } from '@jupyterlab/services';
import type { ITerminalModel } from '../../terminals/api';
import { ClusterTerminals, ClusterTerminalsRegistry } from '../terminals';

function json(status: number, body: unknown): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

function terminal(name: string, created: number): ITerminalModel {
  return {
    name,
    cluster: 'hpc',
    cwd: 'home/run',
    job: '',
    user: 'hpcuser',
    created,
    clients: 0,
    idle: 1
  };
}

/** A server holding `open` terminals of cluster hpc; records the requests. */
function server(open: ITerminalModel[]): {
  settings: ServerConnection.ISettings;
  calls: string[];
  open: ITerminalModel[];
} {
  const calls: string[] = [];
  const fetchImpl = async (
    input: RequestInfo | URL,
    init?: RequestInit
  ): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const path = new URL(request.url).pathname.replace(/^\/jupyter-rpc\//, '');
    calls.push(`${request.method} ${path}`);
    if (request.method === 'GET' && path === 'clusters/hpc/terminals') {
      return json(200, { terminals: open });
    }
    const ended = path.match(/^clusters\/hpc\/terminals\/(\w+)$/);
    if (request.method === 'DELETE' && ended) {
      const i = open.findIndex(t => t.name === ended[1]);
      if (i < 0) {
        return json(404, {
          message: 'No terminal',
          code: 'terminal.not_found',
          details: {}
        });
      }
      open.splice(i, 1);
      return json(204, null);
    }
    if (path === 'clusters/down/terminals') {
      return json(502, {
        message: 'down did not answer',
        code: 'cluster.unreachable',
        details: {}
      });
    }
    return json(404, { message: 'no route', code: 'test.no_route' });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/',
    wsUrl: 'ws://127.0.0.1:8888/',
    token: '',
    appendToken: false,
    fetch: fetchImpl as typeof fetch,
    Request,
    Headers
  });
  return { settings, calls, open };
}

describe('a cluster’s open terminals', () => {
  it('lists them oldest first and says when the list changed', async () => {
    const bed = server([terminal('b2', 20), terminal('a1', 10)]);
    const model = new ClusterTerminals({
      cluster: 'hpc',
      settings: () => bed.settings
    });
    let changes = 0;
    model.changed.connect(() => (changes += 1));
    await model.refresh();
    expect(model.terminals.map(t => t.name)).toEqual(['a1', 'b2']);
    expect(model.error).toBe('');
    expect(changes).toBe(1);
    await model.refresh(); // the same list: no change
    expect(changes).toBe(1);
    model.dispose();
  });

  it('ends one, and one that had ended already counts as ended', async () => {
    const bed = server([terminal('a1', 10), terminal('b2', 20)]);
    const model = new ClusterTerminals({
      cluster: 'hpc',
      settings: () => bed.settings
    });
    await model.refresh();
    await model.end('a1');
    expect(bed.calls).toContain('DELETE clusters/hpc/terminals/a1');
    expect(model.terminals.map(t => t.name)).toEqual(['b2']);
    bed.open.splice(0); // it ended meanwhile (its shell exited)
    await model.end('b2');
    expect(model.terminals).toEqual([]);
    model.dispose();
  });

  it('says why it cannot list, keeping what it had', async () => {
    const bed = server([]);
    const model = new ClusterTerminals({
      cluster: 'down',
      settings: () => bed.settings
    });
    await model.refresh();
    expect(model.error).toContain('down did not answer');
    expect(model.terminals).toEqual([]);
    model.dispose();
  });

  it('polls only while watched, one model per cluster', async () => {
    jest.useFakeTimers();
    try {
      const bed = server([terminal('a1', 10)]);
      const registry = new ClusterTerminalsRegistry(() => bed.settings);
      const model = registry.get('hpc');
      expect(registry.get('hpc')).toBe(model);
      const watching = model.watch();
      const second = model.watch();
      await jest.advanceTimersByTimeAsync(25000);
      const listed = bed.calls.filter(c => c.startsWith('GET')).length;
      expect(listed).toBe(3); // at once, then every 10 s (one timer for both views)
      watching.dispose();
      second.dispose();
      await jest.advanceTimersByTimeAsync(30000);
      expect(bed.calls.filter(c => c.startsWith('GET')).length).toBe(listed);
      registry.dispose();
      expect(model.isDisposed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
