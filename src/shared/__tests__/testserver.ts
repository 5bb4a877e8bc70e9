/**
 * A real local HTTP server for the Jest specs of the REST clients: it answers
 * each request with `reply` and remembers what it was asked.
 */
import { createServer } from 'http';
import type { IncomingMessage, Server, ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { ServerConnection } from '@jupyterlab/services';

/**
 * One request as the server saw it.
 */
export interface ISeen {
  method: string;
  /** Path and query (without the cache buster Lab appends). */
  url: string;
  contentType: string | undefined;
  body: string;
}

/**
 * How the server answers.
 */
export type Reply = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Answer with a JSON body.
 */
export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The server of one spec file: started in `beforeAll`, stopped in `afterAll`;
 * `seen` and `reply` are reset before each test (the reply: `{ok: true}`).
 */
export class TestServer {
  seen: ISeen[] = [];
  reply: Reply = (req, res) => json(res, 200, { ok: true });
  baseUrl = '';

  constructor() {
    beforeAll(() => this._start());
    afterAll(() => this._stop());
    beforeEach(() => {
      this.seen = [];
      this.reply = (req, res) => json(res, 200, { ok: true });
    });
  }

  /**
   * Settings of a page served by this server below `/lab-base/`.
   */
  settings(): ServerConnection.ISettings {
    return ServerConnection.makeSettings({ baseUrl: this.baseUrl, token: '' });
  }

  private async _start(): Promise<void> {
    this._server = createServer((req, res) => {
      let body = '';
      req.on('data', chunk => (body += chunk));
      req.on('end', () => {
        this.seen.push({
          method: req.method ?? '',
          url: (req.url ?? '').replace(/[?&]\d{13}$/, ''),
          contentType: req.headers['content-type'],
          body
        });
        this.reply(req, res);
      });
    });
    const server = this._server;
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    this.baseUrl = `http://127.0.0.1:${port}/lab-base/`;
  }

  private async _stop(): Promise<void> {
    const server = this._server;
    if (server) {
      await new Promise(resolve => server.close(resolve));
    }
  }

  private _server: Server | null = null;
}
