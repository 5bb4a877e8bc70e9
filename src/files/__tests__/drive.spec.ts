import { errorText, RPCRequestError } from '../../shared/errors';
import { json, TestServer } from '../../shared/__tests__/testserver';
import { RemoteDrive } from '../drive';

const server = new TestServer();

const TOP = {
  name: '',
  path: '',
  type: 'directory',
  format: 'json',
  last_modified: '2026-01-01T00:00:00Z',
  content: [
    {
      name: 'home',
      path: 'home',
      type: 'directory',
      real_path: '/home/hpcuser',
      last_modified: '2026-01-01T00:00:00Z'
    }
  ]
};

const FILE = {
  name: 'a b.txt',
  path: 'home/a b.txt',
  type: 'file',
  format: 'text',
  content: 'hello',
  last_modified: '2026-01-02T10:00:00Z',
  real_path: '/home/hpcuser/a b.txt'
};

function drive(options: Partial<RemoteDrive.IOptions> = {}): RemoteDrive {
  return new RemoteDrive({
    cluster: 'my cluster',
    serverSettings: server.settings(),
    ...options
  });
}

describe('RemoteDrive over the files routes', () => {
  it('lists the top level at files/ and learns the roots', async () => {
    server.reply = (req, res) => json(res, 200, TOP);
    const d = drive();
    const model = await d.get('');
    expect(server.seen[0].method).toBe('GET');
    expect(server.seen[0].url).toBe(
      '/lab-base/jupyter-rpc/clusters/my%20cluster/files/?content=1'
    );
    expect(model.type).toBe('directory');
    expect(await d.roots()).toEqual([{ name: 'home', real: '/home/hpcuser' }]);
    expect(await d.realPathOf('home/x')).toBe('/home/hpcuser/x');
  });

  it('saves as JSON with the time it read, and explains a conflict', async () => {
    server.reply = (req, res) => json(res, 200, FILE);
    const d = drive();
    await d.get('home/a b.txt');
    server.reply = (req, res) =>
      json(res, 409, {
        message: 'changed on the cluster',
        reason: 'Conflict',
        code: 'files.conflict'
      });
    const error = await d
      .save('home/a b.txt', { type: 'file', format: 'text', content: 'new' })
      .catch(e => e);
    const put = server.seen[1];
    expect(put.method).toBe('PUT');
    expect(put.url).toBe(
      '/lab-base/jupyter-rpc/clusters/my%20cluster/files/home/a%20b.txt'
    );
    expect(put.contentType).toBe('application/json');
    expect(JSON.parse(put.body)).toEqual({
      type: 'file',
      format: 'text',
      content: 'new',
      last_modified: '2026-01-02T10:00:00Z'
    });
    expect(error).toBeInstanceOf(RPCRequestError);
    expect(error.code).toBe('files.conflict');
    expect(errorText(error)).toBe(
      '"home/a b.txt" was changed on the cluster after you opened it, so it was not saved. Use "Reload from Disk" to load the version on the cluster, or "Save As…" to keep yours under another name.'
    );
  });

  it('stops asking for a password once the user declined', async () => {
    server.reply = (req, res) =>
      json(res, 401, {
        message: 'a password is needed',
        reason: 'Unauthorized',
        code: 'ssh.auth_required'
      });
    let asked = 0;
    const d = drive({
      withConnection: async fn => {
        asked += 1;
        return fn();
      }
    });
    await expect(d.get('home')).rejects.toThrow('a password is needed');
    await expect(d.get('home')).rejects.toThrow('a password is needed');
    expect(asked).toBe(1);
    d.resetConnectionPrompts();
    await expect(d.delete('home/x')).rejects.toThrow('a password is needed');
    expect(asked).toBe(2);
    expect(server.seen.map(s => `${s.method} ${s.url}`)).toEqual([
      'GET /lab-base/jupyter-rpc/clusters/my%20cluster/files/home?content=1',
      'GET /lab-base/jupyter-rpc/clusters/my%20cluster/files/home?content=1',
      'DELETE /lab-base/jupyter-rpc/clusters/my%20cluster/files/home/x'
    ]);
  });

  it('renames, copies and creates through the same routes', async () => {
    server.reply = (req, res) => json(res, 200, FILE);
    const d = drive();
    await d.rename('home/a.txt', 'home/a b.txt');
    await d.copy('home/a b.txt', 'home');
    await d.newUntitled({ path: 'home', type: 'file', ext: '.py' });
    expect(server.seen.map(s => [s.method, s.url, JSON.parse(s.body)])).toEqual(
      [
        [
          'PATCH',
          '/lab-base/jupyter-rpc/clusters/my%20cluster/files/home/a.txt',
          { path: 'home/a b.txt' }
        ],
        [
          'POST',
          '/lab-base/jupyter-rpc/clusters/my%20cluster/files/home',
          { copy_from: 'home/a b.txt' }
        ],
        [
          'POST',
          '/lab-base/jupyter-rpc/clusters/my%20cluster/files/home',
          { type: 'file', ext: '.py' }
        ]
      ]
    );
  });

  it('links downloads below download/', async () => {
    const url = await drive().getDownloadUrl('home/a b.txt');
    expect(url).toBe(
      `${server.baseUrl}jupyter-rpc/clusters/my%20cluster/download/home/a%20b.txt`
    );
  });
});
