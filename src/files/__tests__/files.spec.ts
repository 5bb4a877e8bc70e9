import {
  clusterOfDrive,
  driveNameOf,
  isJobScript,
  normalizeDrivePath,
  pathSegments,
  rootsFromListing,
  splitGlobalPath,
  toContentsModel,
  toDrivePath,
  toRealPath,
  toSaveBody
} from '../paths';
import type { IRemoteModel } from '../api';
import type { IResolvedRoot } from '../paths';

const ROOTS: IResolvedRoot[] = [
  { name: 'home', real: '/home/hpcuser' },
  { name: 'scratch', real: '/scratch/hpcuser/' },
  { name: 'work', real: '/home/hpcuser/work' }
];

describe('drive names', () => {
  it('names a drive after its cluster and back', () => {
    expect(driveNameOf('levante')).toBe('rpc-levante');
    expect(clusterOfDrive('rpc-levante')).toBe('levante');
    expect(clusterOfDrive('rpc-')).toBeNull();
    expect(clusterOfDrive('s3')).toBeNull();
  });

  it('splits a global path into drive and local path', () => {
    expect(splitGlobalPath('rpc-hpc:home/run/out.txt')).toEqual({
      drive: 'rpc-hpc',
      path: 'home/run/out.txt'
    });
    expect(splitGlobalPath('rpc-hpc:')).toEqual({ drive: 'rpc-hpc', path: '' });
    expect(splitGlobalPath('notes/a.txt')).toEqual({
      drive: '',
      path: 'notes/a.txt'
    });
  });
});

describe('drive paths', () => {
  it('drops empty parts, dots and climbs that leave the top', () => {
    expect(normalizeDrivePath('/home//run/./out.txt/')).toBe(
      'home/run/out.txt'
    );
    expect(normalizeDrivePath('home/run/../x')).toBe('home/x');
    expect(normalizeDrivePath('../../etc')).toBe('etc');
    expect(pathSegments('')).toEqual([]);
    expect(pathSegments('/home/a b/c#d')).toEqual(['home', 'a b', 'c#d']);
  });

  it('maps an absolute path to the root that holds it, the deepest one first', () => {
    expect(toDrivePath('/home/hpcuser/run/out.txt', ROOTS)).toBe(
      'home/run/out.txt'
    );
    expect(toDrivePath('/home/hpcuser/work/a/b', ROOTS)).toBe('work/a/b');
    expect(toDrivePath('/home/hpcuser', ROOTS)).toBe('home');
    expect(toDrivePath('/scratch/hpcuser/x/', ROOTS)).toBe('scratch/x');
    expect(toDrivePath('/home/hpcuser/../other/x', ROOTS)).toBeNull();
  });

  it('refuses paths outside every root and relative paths', () => {
    expect(toDrivePath('/home/hpcuser2/x', ROOTS)).toBeNull();
    expect(toDrivePath('/etc/passwd', ROOTS)).toBeNull();
    expect(toDrivePath('home/x', ROOTS)).toBeNull();
    expect(toDrivePath('/x', [{ name: 'home', real: '~' }])).toBeNull();
  });

  it('maps a root "/" like any other', () => {
    expect(toDrivePath('/etc/hosts', [{ name: 'root', real: '/' }])).toBe(
      'root/etc/hosts'
    );
    expect(toRealPath('root/etc/hosts', [{ name: 'root', real: '/' }])).toBe(
      '/etc/hosts'
    );
  });

  it('maps drive paths back to absolute paths', () => {
    expect(toRealPath('home/run/out.txt', ROOTS)).toBe(
      '/home/hpcuser/run/out.txt'
    );
    expect(toRealPath('scratch', ROOTS)).toBe('/scratch/hpcuser');
    expect(toRealPath('', ROOTS)).toBeNull();
    expect(toRealPath('nope/x', ROOTS)).toBeNull();
    for (const path of ['home/a/b.txt', 'work/c', 'scratch/d/e']) {
      expect(toDrivePath(toRealPath(path, ROOTS) as string, ROOTS)).toBe(path);
    }
  });

  it('reads the roots from the top-level listing', () => {
    const listing: IRemoteModel[] = [
      { name: 'home', path: 'home', type: 'directory', real_path: '/home/u' },
      { name: 'broken', path: 'broken', type: 'directory', real_path: '' }
    ];
    expect(rootsFromListing(listing)).toEqual([
      { name: 'home', real: '/home/u' }
    ]);
  });

  it('knows batch scripts', () => {
    expect(isJobScript('run.sh')).toBe(true);
    expect(isJobScript('job.SBATCH')).toBe(true);
    expect(isJobScript('notes.txt')).toBe(false);
    expect(isJobScript('sh')).toBe(false);
  });
});

describe('contents models', () => {
  const file: IRemoteModel = {
    name: 'out.txt',
    path: 'home/run/out.txt',
    type: 'file',
    format: 'text',
    mimetype: 'text/plain',
    content: 'hello\n',
    size: 6,
    writable: true,
    created: '2026-01-02T03:04:05+00:00',
    last_modified: '2026-01-02T03:04:05+00:00',
    hash: null,
    hash_algorithm: null,
    real_path: '/home/hpcuser/run/out.txt'
  };

  it('keeps a file model and its real path, nulls become absent', () => {
    const model = toContentsModel(file);
    expect(model).toMatchObject({
      name: 'out.txt',
      path: 'home/run/out.txt',
      type: 'file',
      format: 'text',
      content: 'hello\n',
      size: 6,
      last_modified: '2026-01-02T03:04:05+00:00',
      real_path: '/home/hpcuser/run/out.txt'
    });
    expect(model.hash).toBeUndefined();
  });

  it('converts a folder listing entry by entry', () => {
    const folder = toContentsModel({
      name: 'run',
      path: 'home/run',
      type: 'directory',
      format: 'json',
      content: [{ ...file, content: null, format: null }],
      last_modified: null
    });
    expect(folder.format).toBe('json');
    expect(folder.mimetype).toBeNull();
    expect(folder.last_modified).toBe('1970-01-01T00:00:00.000Z');
    expect(folder.content).toHaveLength(1);
    expect(folder.content[0]).toMatchObject({
      name: 'out.txt',
      format: null,
      content: null,
      real_path: '/home/hpcuser/run/out.txt'
    });
    const unlisted = toContentsModel({ ...folder, content: null });
    expect(unlisted.format).toBeNull();
  });

  it('marks every model read-only for a user without write', () => {
    expect(toContentsModel(file).writable).toBe(true);
    expect(toContentsModel(file, { readOnly: true }).writable).toBe(false);
    const folder = toContentsModel(
      {
        name: 'run',
        path: 'home/run',
        type: 'directory',
        format: 'json',
        content: [{ ...file, content: null, format: null }]
      },
      { readOnly: true }
    );
    expect(folder.writable).toBe(false);
    expect(folder.content[0].writable).toBe(false);
  });

  it('parses a notebook sent as text only when asked', () => {
    const nb = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 };
    const remote: IRemoteModel = {
      ...file,
      name: 'a.ipynb',
      type: 'notebook',
      format: 'text',
      content: JSON.stringify(nb)
    };
    expect(toContentsModel(remote, { notebookAsJson: true })).toMatchObject({
      type: 'notebook',
      format: 'json',
      content: nb
    });
    expect(toContentsModel(remote).content).toBe(JSON.stringify(nb));
    expect(
      toContentsModel({ ...remote, format: 'json', content: nb }).format
    ).toBe('json');
    expect(() =>
      toContentsModel({ ...remote, content: '{' }, { notebookAsJson: true })
    ).toThrow(SyntaxError);
  });

  it('sends the read time with a save and the chunk number with an upload', () => {
    expect(
      toSaveBody(
        { type: 'file', format: 'text', content: 'x' },
        '2026-01-02T03:04:05+00:00'
      )
    ).toEqual({
      type: 'file',
      format: 'text',
      content: 'x',
      last_modified: '2026-01-02T03:04:05+00:00'
    });
    expect(
      toSaveBody(
        { type: 'file', format: 'base64', content: 'eA==', chunk: -1 },
        undefined
      )
    ).toEqual({ type: 'file', format: 'base64', content: 'eA==', chunk: -1 });
    expect(
      toSaveBody({ type: 'notebook', content: { cells: [] } }, undefined)
    ).toEqual({
      type: 'notebook',
      format: 'json',
      content: { cells: [] }
    });
  });
});
