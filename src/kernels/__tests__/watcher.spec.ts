import { startMessage } from '../api';
import type { IKernelStart } from '../api';
import { hasJobKernels, KernelStartWatcher } from '../watcher';
import type { INotifier } from '../watcher';

function start(extra: Partial<IKernelStart> = {}): IKernelStart {
  return {
    id: 'k1',
    kernel_name: 'rpc-testbed-debug',
    display_name: 'Python 3 on testbed, debug',
    cluster: 'testbed',
    profile: 'debug',
    state: 'pending',
    job_id: '1234',
    reason: '',
    partition: 'debug',
    since: 0,
    ...extra
  };
}

describe('startMessage', () => {
  it('says where the job waits', () => {
    expect(startMessage(start())).toBe(
      'Python 3 on testbed, debug: waiting in queue debug, job 1234'
    );
    expect(startMessage(start({ reason: 'Priority' }))).toBe(
      'Python 3 on testbed, debug: waiting in queue debug, job 1234 (Priority)'
    );
    expect(startMessage(start({ partition: '' }))).toBe(
      'Python 3 on testbed, debug: waiting in the queue, job 1234'
    );
    expect(startMessage(start({ state: 'submitting', job_id: '' }))).toBe(
      'Python 3 on testbed, debug: submitting its job'
    );
    expect(startMessage(start({ state: 'starting' }))).toBe(
      'Python 3 on testbed, debug: job 1234 is running, the kernel is starting'
    );
  });
});

class FakeNotifier implements INotifier {
  notes = new Map<string, { message: string; onCancel: () => void }>();
  private _n = 0;
  show(message: string, onCancel: () => void): string {
    const id = `n${++this._n}`;
    this.notes.set(id, { message, onCancel });
    return id;
  }
  update(id: string, message: string): void {
    this.notes.get(id)!.message = message;
  }
  dismiss(id: string): void {
    this.notes.delete(id);
  }
}

describe('KernelStartWatcher', () => {
  it('shows, updates and dismisses one notification per start', async () => {
    let starts = [start({ state: 'submitting', job_id: '' })];
    const cancelled: string[] = [];
    const api = {
      list: async () => starts,
      cancel: async (id: string) => {
        cancelled.push(id);
      }
    };
    const notifier = new FakeNotifier();
    const watcher = new KernelStartWatcher(api, notifier);
    await watcher.tick();
    expect([...notifier.notes.values()].map(n => n.message)).toEqual([
      'Python 3 on testbed, debug: submitting its job'
    ]);
    starts = [start()];
    await watcher.tick();
    await watcher.tick(); // unchanged: still one
    expect([...notifier.notes.values()].map(n => n.message)).toEqual([
      'Python 3 on testbed, debug: waiting in queue debug, job 1234'
    ]);

    [...notifier.notes.values()][0].onCancel();
    await Promise.resolve();
    expect(cancelled).toEqual(['k1']);

    starts = [];
    await watcher.tick();
    expect(notifier.notes.size).toBe(0);
    expect(watcher.shown.size).toBe(0);
  });

  it('reports a failed cancel', async () => {
    const errors: unknown[] = [];
    const api = {
      list: async () => [start()],
      cancel: async () => {
        throw new Error('gone');
      }
    };
    const notifier = new FakeNotifier();
    const watcher = new KernelStartWatcher(api, notifier, e => errors.push(e));
    await watcher.tick();
    [...notifier.notes.values()][0].onCancel();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(errors).toHaveLength(1);
  });
});

describe('hasJobKernels', () => {
  it('is true only with a job kernelspec', () => {
    const spec = (where: string) =>
      ({ metadata: { jupyter_rpc: { cluster: 'c', where } } }) as any;
    expect(hasJobKernels(null)).toBe(false);
    expect(
      hasJobKernels({ default: 'x', kernelspecs: { a: spec('login') } })
    ).toBe(false);
    expect(
      hasJobKernels({
        default: 'x',
        kernelspecs: { a: spec('login'), b: spec('job') }
      })
    ).toBe(true);
  });
});
