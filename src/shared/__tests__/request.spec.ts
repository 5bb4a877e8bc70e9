import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { ServerConnection } from '@jupyterlab/services';
import { RPCRequestError } from '../errors';
import { postBody, requestAPI, sendRequest } from '../request';
import { json, TestServer } from './testserver';

const server = new TestServer();
const settings = (): ServerConnection.ISettings => server.settings();

describe('requestAPI', () => {
  it('calls a route below jupyter-rpc/ with encoded segments and query', async () => {
    const data = await requestAPI<{ ok: boolean }>(
      ['clusters', 'my cluster', 'jobs'],
      {},
      { all_users: 1, q: 'a&b' },
      settings()
    );
    expect(data).toEqual({ ok: true });
    expect(server.seen).toEqual([
      {
        method: 'GET',
        url: '/lab-base/jupyter-rpc/clusters/my%20cluster/jobs?all_users=1&q=a%26b',
        contentType: undefined,
        body: ''
      }
    ]);
  });

  it('posts a JSON body', async () => {
    await requestAPI(['clusters'], postBody({ name: 'x' }), {}, settings());
    expect(server.seen[0].method).toBe('POST');
    expect(JSON.parse(server.seen[0].body)).toEqual({ name: 'x' });
  });

  it('gives null for an empty answer', async () => {
    server.reply = (req, res) => {
      res.writeHead(204);
      res.end();
    };
    await expect(
      requestAPI(['clusters', 'x'], { method: 'DELETE' }, {}, settings())
    ).resolves.toBeNull();
  });

  it("throws the server's error shape as an RPCRequestError", async () => {
    server.reply = (req, res) =>
      json(res, 400, {
        message: 'a: must be <= 100',
        reason: 'Bad Request',
        code: 'request.schema',
        details: { errors: [{ path: ['a'], message: 'must be <= 100' }] }
      });
    const error: unknown = await requestAPI(
      ['backends', 'b', 'calls'],
      postBody({}),
      {},
      settings()
    ).catch(e => e);
    if (!(error instanceof RPCRequestError)) {
      throw new Error(`not an RPCRequestError: ${error}`);
    }
    expect(error.message).toBe('a: must be <= 100');
    expect(error.code).toBe('request.schema');
    expect(error.details?.errors?.[0].path).toEqual(['a']);
    expect(error.response.status).toBe(400);
  });
});

describe('sendRequest', () => {
  it('sends to a URL as given (the drive keeps its trailing slash)', async () => {
    const url = `${server.baseUrl}jupyter-rpc/clusters/c/files/`;
    await sendRequest(
      url,
      {
        method: 'PUT',
        body: '{}',
        headers: { 'Content-Type': 'application/json' }
      },
      settings()
    );
    expect(server.seen[0]).toEqual({
      method: 'PUT',
      url: '/lab-base/jupyter-rpc/clusters/c/files/',
      contentType: 'application/json',
      body: '{}'
    });
  });

  it('throws a network error when the server cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise(resolve => closed.close(resolve));
    const gone = ServerConnection.makeSettings({
      baseUrl: `http://127.0.0.1:${port}/`,
      token: ''
    });
    await expect(
      sendRequest(`http://127.0.0.1:${port}/jupyter-rpc/`, {}, gone)
    ).rejects.toBeInstanceOf(ServerConnection.NetworkError);
  });
});
