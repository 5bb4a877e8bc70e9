import type { KernelSpec } from '@jupyterlab/services';
import type { IKernelChanging, IProfileRef } from '../guard';
import { guardKernelStarts, profileOf } from '../guard';

function spec(
  name: string,
  meta?: Record<string, string>
): KernelSpec.ISpecModel {
  return {
    name,
    display_name: `Kernel ${name}`,
    language: 'python',
    argv: [],
    resources: {},
    ...(meta ? { metadata: { jupyter_rpc: meta } } : {})
  };
}

const SPECS: KernelSpec.ISpecModels = {
  default: 'python3',
  kernelspecs: {
    python3: spec('python3'),
    'rpc-tb': spec('rpc-tb', { cluster: 'tb', where: 'login' }),
    'rpc-tb-gpu': spec('rpc-tb-gpu', {
      cluster: 'tb',
      where: 'job',
      profile: 'gpu'
    }),
    'rpc-odd': spec('rpc-odd', { cluster: 'tb', where: 'job' })
  }
};

describe('profileOf', () => {
  it('names the cluster and profile of a kernel in a batch job', () => {
    expect(profileOf(SPECS, 'rpc-tb-gpu')).toEqual({
      cluster: 'tb',
      profile: 'gpu',
      displayName: 'Kernel rpc-tb-gpu'
    });
  });

  it('is null for login-node, local, unknown and incomplete kernelspecs', () => {
    for (const name of ['rpc-tb', 'python3', 'nosuch', 'rpc-odd', undefined]) {
      expect(profileOf(SPECS, name)).toBeNull();
    }
    expect(profileOf(null, 'rpc-tb-gpu')).toBeNull();
  });
});

describe('guardKernelStarts', () => {
  function context(kernel: unknown = null) {
    const started: Array<string | undefined> = [];
    const proto: IKernelChanging = {
      async _changeKernel(model = {}) {
        started.push(model.name);
        return `kernel of ${model.name}`;
      }
    };
    const self = { session: kernel ? { kernel } : null };
    const call = (name: string) =>
      proto._changeKernel!.call(self, { name }) as Promise<unknown>;
    return { proto, started, call };
  }

  it('asks before a profile kernel starts, then starts it', async () => {
    const { proto, started, call } = context();
    const asked: IProfileRef[] = [];
    const lookup = (name?: string) => profileOf(SPECS, name);
    expect(
      guardKernelStarts(proto, lookup, async p => {
        asked.push(p);
        return true;
      })
    ).toBe(true);
    expect(await call('rpc-tb-gpu')).toBe('kernel of rpc-tb-gpu');
    expect(asked.map(p => p.profile)).toEqual(['gpu']);
    expect(started).toEqual(['rpc-tb-gpu']);
  });

  it('starts nothing on Cancel and keeps the kernel the session has', async () => {
    const running = { name: 'python3' };
    const { proto, started, call } = context(running);
    guardKernelStarts(
      proto,
      name => profileOf(SPECS, name),
      async () => false
    );
    expect(await call('rpc-tb-gpu')).toBe(running);
    expect(started).toEqual([]);
    const fresh = context();
    guardKernelStarts(
      fresh.proto,
      name => profileOf(SPECS, name),
      async () => false
    );
    expect(await fresh.call('rpc-tb-gpu')).toBeNull();
  });

  it('starts nothing when the notebook closed while the dialog was open', async () => {
    const started: Array<string | undefined> = [];
    const proto: IKernelChanging = {
      async _changeKernel(model = {}) {
        started.push(model.name);
        return 'kernel';
      }
    };
    const self = { session: null, isDisposed: false };
    guardKernelStarts(
      proto,
      name => profileOf(SPECS, name),
      async () => {
        self.isDisposed = true; // closed meanwhile
        return true;
      }
    );
    expect(
      await proto._changeKernel!.call(self, { name: 'rpc-tb-gpu' })
    ).toBeNull();
    expect(started).toEqual([]);
  });

  it('asks nothing for other kernels', async () => {
    const { proto, started, call } = context();
    const confirm = jest.fn(async () => false);
    guardKernelStarts(proto, name => profileOf(SPECS, name), confirm);
    await call('rpc-tb');
    await call('python3');
    expect(confirm).not.toHaveBeenCalled();
    expect(started).toEqual(['rpc-tb', 'python3']);
  });

  it('says so when the step to wrap is missing', () => {
    expect(
      guardKernelStarts(
        {},
        () => null,
        async () => true
      )
    ).toBe(false);
  });
});
