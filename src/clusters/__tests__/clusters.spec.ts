/**
 * ClustersManager.withConnection: which dialog an SSH error leads to, what is
 * sent to the server, when the call is retried and when the error goes to the
 * caller. The server is a small in-process stand-in answering the REST
 * contract (docs/rest-api.md, "Clusters") through the settings' `fetch`; the
 * real flows run in the browser tests (ui-tests/test_clusters.py).
 */
import { ServerConnection } from '@jupyterlab/services';
import { RPCRequestError } from '../../shared/errors';
import type { IAuthPrompt, ICluster } from '../api';
import type { IConnectionDialogs } from '../dialogs';
import type { IHostKey } from '../hostkey';
import { ClustersManager } from '../manager';

const KEY = {
  host: '127.0.0.1',
  port: 2222,
  key_type: 'ssh-ed25519',
  fingerprint: 'SHA256:WkaT9BBI2LtOV4noWkU7gHbaBPjegLAVBbuuJd0880g'
};

function prompt(id: string, instructions = ''): IAuthPrompt {
  return {
    id,
    title: 'Password for hpcuser@127.0.0.1:2224',
    instructions,
    prompts: [{ prompt: 'Password:', echo: false }]
  };
}

function cluster(state: ICluster['state'] = 'connected'): ICluster {
  return {
    name: 'hpc',
    display_name: 'The HPC',
    description: '',
    kind: 'ssh',
    scheduler: 'slurm',
    capabilities: null,
    source: 'site',
    host: '127.0.0.1',
    user: 'hpcuser',
    state,
    error: null,
    prompt: null,
    roots: [],
    workdir: '~',
    stats: { job_queries: 0 }
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** An error as the server sends it. */
function rpcError(
  status: number,
  code: string,
  details: Record<string, unknown>
): RPCRequestError {
  return new RPCRequestError(json(status, {}), {
    message: `${code} happened`,
    code,
    details
  });
}

/** A recorded request: method, path below /jupyter-rpc/, JSON body. */
interface ICall {
  method: string;
  path: string;
  body: any;
}

/**
 * A stand-in server: `answers` maps `METHOD path` to the responses to give
 * in order (the last one repeats).
 */
function server(answers: Record<string, Response[]>): {
  settings: ServerConnection.ISettings;
  calls: ICall[];
} {
  const calls: ICall[] = [];
  const fetchImpl = async (
    input: RequestInfo | URL,
    init?: RequestInit
  ): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/jupyter-rpc\//, '');
    const text = await request.text();
    calls.push({
      method: request.method,
      path,
      body: text ? JSON.parse(text) : null
    });
    const list = answers[`${request.method} ${path}`];
    if (!list || !list.length) {
      return json(404, { message: 'no route', code: 'test.no_route' });
    }
    const next = list.length > 1 ? list.shift()! : list[0].clone();
    return next;
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
  return { settings, calls };
}

/** Dialogs that answer as told and record what they were shown. */
class FakeDialogs implements IConnectionDialogs {
  trust = true;
  answers: Array<string[] | null> = [];
  shown: Array<{ kind: string; cluster: string; detail: unknown }> = [];

  async askTrust(cluster: string, key: IHostKey): Promise<boolean> {
    this.shown.push({ kind: 'trust', cluster, detail: key });
    return this.trust;
  }

  async askAuth(
    cluster: string,
    prompt: IAuthPrompt
  ): Promise<string[] | null> {
    this.shown.push({ kind: 'auth', cluster, detail: prompt });
    return this.answers.length ? this.answers.shift()! : null;
  }

  async showKeyChanged(
    cluster: string,
    message: string,
    key: IHostKey
  ): Promise<void> {
    this.shown.push({ kind: 'changed', cluster, detail: { message, key } });
  }
}

async function manager(answers: Record<string, Response[]>) {
  const { settings, calls } = server({
    'GET clusters': [json(200, { clusters: [cluster('idle')] })],
    'GET clusters/hpc': [json(200, cluster())],
    ...answers
  });
  const dialogs = new FakeDialogs();
  const m = new ClustersManager({ serverSettings: settings, dialogs });
  await m.refresh();
  return { m, dialogs, calls };
}

/** A request to the cluster that fails with `errors` first, then answers `ok`. */
function failing(...errors: RPCRequestError[]): {
  fn: () => Promise<string>;
  tries: () => number;
} {
  let n = 0;
  return {
    fn: async () => {
      n++;
      if (errors.length) {
        throw errors.shift();
      }
      return 'ok';
    },
    tries: () => n
  };
}

describe('ClustersManager.withConnection', () => {
  it('passes results and unrelated errors through without a dialog', async () => {
    const { m, dialogs } = await manager({});
    expect(await m.withConnection('hpc', async () => 42)).toBe(42);
    const err = rpcError(503, 'cluster.unreachable', {});
    await expect(
      m.withConnection('hpc', () => Promise.reject(err))
    ).rejects.toBe(err);
    expect(dialogs.shown).toEqual([]);
  });

  it('asks to trust an unknown host key, sends its fingerprint, retries', async () => {
    const { m, dialogs, calls } = await manager({
      'POST clusters/hpc/trust': [json(200, cluster())]
    });
    const call = failing(rpcError(428, 'ssh.host_unknown', KEY));
    expect(await m.withConnection('hpc', call.fn)).toBe('ok');
    expect(call.tries()).toBe(2);
    expect(dialogs.shown).toEqual([
      { kind: 'trust', cluster: 'The HPC', detail: KEY }
    ]);
    const trust = calls.filter(c => c.path === 'clusters/hpc/trust');
    expect(trust).toEqual([
      {
        method: 'POST',
        path: 'clusters/hpc/trust',
        body: { fingerprint: KEY.fingerprint }
      }
    ]);
    expect(m.get('hpc')?.state).toBe('connected');
  });

  it('does not trust when declined, and does not ask again on the next poll', async () => {
    const { m, dialogs, calls } = await manager({});
    dialogs.trust = false;
    const err = rpcError(428, 'ssh.host_unknown', KEY);
    await expect(
      m.withConnection('hpc', () => Promise.reject(err))
    ).rejects.toBe(err);
    await expect(
      m.withConnection('hpc', () => Promise.reject(err))
    ).rejects.toBe(err);
    expect(dialogs.shown.map(s => s.kind)).toEqual(['trust']);
    expect(calls.some(c => c.path.endsWith('/trust'))).toBe(false);
  });

  it('an explicit connect asks again after a decline', async () => {
    const { m, dialogs } = await manager({
      'POST clusters/hpc/connect': [
        json(428, {
          message: 'unknown',
          code: 'ssh.host_unknown',
          details: KEY
        }),
        json(200, cluster())
      ],
      'POST clusters/hpc/trust': [json(200, cluster())]
    });
    dialogs.trust = false;
    const err = rpcError(428, 'ssh.host_unknown', KEY);
    await expect(
      m.withConnection('hpc', () => Promise.reject(err))
    ).rejects.toBe(err);
    dialogs.trust = true;
    const model = await m.connect('hpc');
    expect(model.state).toBe('connected');
    expect(dialogs.shown.map(s => s.kind)).toEqual(['trust', 'trust']);
  });

  it('answers a password prompt, then the next prompt, and never keeps the answers', async () => {
    const { m, dialogs, calls } = await manager({
      'POST clusters/hpc/auth': [
        json(428, {
          message: 'asks again',
          code: 'ssh.auth_required',
          details: {
            prompt: prompt('p2', 'The password was not accepted. ')
          }
        }),
        json(200, cluster())
      ]
    });
    dialogs.answers = [['wrong'], ['s3cret']];
    const call = failing(
      rpcError(428, 'ssh.auth_required', { prompt: prompt('p1') })
    );
    expect(await m.withConnection('hpc', call.fn)).toBe('ok');
    expect(dialogs.shown.map(s => s.kind)).toEqual(['auth', 'auth']);
    expect((dialogs.shown[1].detail as IAuthPrompt).instructions).toContain(
      'not accepted'
    );
    expect(
      calls.filter(c => c.path === 'clusters/hpc/auth').map(c => c.body)
    ).toEqual([
      { prompt_id: 'p1', responses: ['wrong'] },
      { prompt_id: 'p2', responses: ['s3cret'] }
    ]);
    expect(JSON.stringify(m.clusters)).not.toContain('s3cret');
  });

  it('gives the caller ssh.auth_failed after a wrong answer', async () => {
    const { m, dialogs } = await manager({
      'POST clusters/hpc/auth': [
        json(502, {
          message: 'hpc refused the login',
          code: 'ssh.auth_failed',
          details: {}
        })
      ]
    });
    dialogs.answers = [['wrong']];
    const call = failing(
      rpcError(428, 'ssh.auth_required', { prompt: prompt('p1') })
    );
    await expect(m.withConnection('hpc', call.fn)).rejects.toMatchObject({
      code: 'ssh.auth_failed'
    });
    expect(call.tries()).toBe(1);
  });

  it('refuses a changed host key: a notice, nothing trusted, the error to the caller', async () => {
    const { m, dialogs, calls } = await manager({});
    const err = rpcError(502, 'ssh.host_key_changed', KEY);
    await expect(
      m.withConnection('hpc', () => Promise.reject(err))
    ).rejects.toBe(err);
    expect(dialogs.shown).toEqual([
      {
        kind: 'changed',
        cluster: 'The HPC',
        detail: { message: 'ssh.host_key_changed happened', key: KEY }
      }
    ]);
    expect(calls.some(c => c.path.endsWith('/trust'))).toBe(false);
  });

  it('asks once for calls that fail together', async () => {
    const { m, dialogs, calls } = await manager({
      'POST clusters/hpc/trust': [json(200, cluster())]
    });
    const a = failing(rpcError(428, 'ssh.host_unknown', KEY));
    const b = failing(rpcError(428, 'ssh.host_unknown', KEY));
    const results = await Promise.all([
      m.withConnection('hpc', a.fn),
      m.withConnection('hpc', b.fn)
    ]);
    expect(results).toEqual(['ok', 'ok']);
    expect(dialogs.shown.length).toBe(1);
    expect(calls.filter(c => c.path.endsWith('/trust')).length).toBe(1);
  });

  it('stops after a bounded number of rounds when the server keeps asking', async () => {
    const { m, dialogs } = await manager({
      'POST clusters/hpc/trust': [json(200, cluster())]
    });
    const err = rpcError(428, 'ssh.host_unknown', KEY);
    let tries = 0;
    await expect(
      m.withConnection('hpc', async () => {
        tries++;
        throw err;
      })
    ).rejects.toBe(err);
    expect(tries).toBeLessThanOrEqual(6);
    expect(dialogs.shown.length).toBeLessThanOrEqual(5);
  });
});
