import { nullTranslator } from '@jupyterlab/translation';
import { lacks, lackText, lackTitle } from '../capabilities';
import type { ICapableCluster } from '../capabilities';
import type { ISchedulerCapabilities } from '../../shared/openapi';

const trans = nullTranslator.load('jupyter_rpc');

const ALL = {
  hold: true,
  arrays: true,
  history: true,
  test_only: true,
  efficiency: true,
  queues: true,
  workdir: true
};

function cluster(
  extra: Partial<typeof ALL> | null = {},
  display_name = 'Test bed'
): ICapableCluster {
  return {
    name: 'tb',
    display_name,
    capabilities:
      extra === null ? null : ({ ...ALL, ...extra } as ISchedulerCapabilities)
  };
}

describe('lacks', () => {
  it('is true only for a capability the scheduler says it lacks', () => {
    expect(lacks(cluster({ hold: false }), 'hold')).toBe(true);
    expect(lacks(cluster({ hold: false }), 'history')).toBe(false);
    expect(lacks(cluster(), 'hold')).toBe(false);
  });
  it('lacks nothing when nothing is known', () => {
    expect(lacks(cluster(null), 'hold')).toBe(false);
    expect(lacks(undefined, 'history')).toBe(false);
    expect(lacks(null, 'workdir')).toBe(false);
  });
});

describe('lackText', () => {
  it('names the cluster and what it cannot do', () => {
    expect(lackText(cluster(), 'hold', trans)).toBe(
      "Test bed's scheduler cannot hold and release jobs."
    );
    expect(lackText(cluster(), 'history', trans)).toBe(
      "Test bed's scheduler keeps no accounting: it cannot list the jobs that ended."
    );
    expect(lackText(cluster(), 'test_only', trans)).toBe(
      "Test bed's scheduler cannot tell when a job would start without submitting it."
    );
    expect(lackText(cluster({}, ''), 'arrays', trans)).toBe(
      "tb's scheduler cannot run array jobs."
    );
  });
});

describe('lackTitle', () => {
  it('says why when lacking, else the other reason', () => {
    expect(lackTitle(cluster({ hold: false }), 'hold', trans, 'No write')).toBe(
      "Test bed's scheduler cannot hold and release jobs."
    );
    expect(lackTitle(cluster(), 'hold', trans, 'No write')).toBe('No write');
    expect(lackTitle(cluster(), 'hold', trans)).toBeUndefined();
  });
});
