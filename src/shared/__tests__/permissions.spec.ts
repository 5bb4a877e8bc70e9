import { nullTranslator } from '@jupyterlab/translation';
import {
  ALL_ALLOWED,
  fetchPermissions,
  missingPermissionText,
  parsePermissions,
  PermissionStore,
  permissionsUrl
} from '../permissions';
import { json, TestServer } from './testserver';

const server = new TestServer();
const trans = nullTranslator.load('jupyter_rpc');

describe('permissions', () => {
  it("asks jupyter_server's identity route for the three actions", async () => {
    server.reply = (req, res) =>
      json(res, 200, {
        identity: { username: 'alice' },
        permissions: { jupyter_rpc: ['read', 'write'] }
      });
    const found = await fetchPermissions(server.settings());
    expect(found).toEqual({ read: true, write: true, execute: false });
    expect(server.seen).toHaveLength(1);
    const url = new URL(server.seen[0].url, 'http://x');
    expect(url.pathname).toBe('/lab-base/api/me');
    expect(JSON.parse(url.searchParams.get('permissions') ?? '')).toEqual({
      jupyter_rpc: ['read', 'write', 'execute']
    });
    expect(permissionsUrl(server.settings())).toContain('/lab-base/api/me?');
  });

  it('allows everything when the server cannot say (the server still refuses)', async () => {
    server.reply = (req, res) => json(res, 500, { message: 'boom' });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    await expect(fetchPermissions(server.settings())).resolves.toEqual(
      ALL_ALLOWED
    );
    warn.mockRestore();
    expect(parsePermissions({ identity: {} })).toEqual(ALL_ALLOWED);
    expect(parsePermissions(null)).toEqual(ALL_ALLOWED);
    expect(parsePermissions({ permissions: { jupyter_rpc: [] } })).toEqual({
      read: false,
      write: false,
      execute: false
    });
  });

  it('a store asks once, is optimistic until then, and signals the answer', async () => {
    let asked = 0;
    const store = new PermissionStore(async () => {
      asked += 1;
      return { read: true, write: false, execute: false };
    });
    const seen: boolean[] = [];
    store.changed.connect((_, p) => seen.push(p.execute));
    expect(store.current).toEqual(ALL_ALLOWED);
    await Promise.all([store.load(), store.load()]);
    await store.load();
    expect(asked).toBe(1);
    expect(store.current.write).toBe(false);
    expect(seen).toEqual([false]);
  });

  it('says which permission is missing and what it allows', () => {
    expect(missingPermissionText('execute', trans)).toMatch(
      /may not run code.*'execute' permission on jupyter_rpc/
    );
    expect(missingPermissionText('write', trans)).toMatch(
      /may not change files or clusters.*'write'/
    );
  });
});
