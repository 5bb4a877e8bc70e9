import type { KernelSpec } from '@jupyterlab/services';
import { clusterFirst, clusterOfPath, clusterSpecs } from '../picker';
import type { KernelOptions } from '../picker';

function spec(
  name: string,
  display_name: string,
  meta?: { cluster: string; where: string }
): KernelSpec.ISpecModel {
  return {
    name,
    display_name,
    language: 'python',
    argv: [],
    resources: {},
    ...(meta ? { metadata: { jupyter_rpc: meta } } : {})
  };
}

const SPECS: KernelSpec.ISpecModels = {
  default: 'python3',
  kernelspecs: {
    python3: spec('python3', 'Python 3 (ipykernel)'),
    'rpc-tb-gpu': spec('rpc-tb-gpu', 'Python 3 on Test bed, GPU node', {
      cluster: 'tb',
      where: 'job'
    }),
    'rpc-tb': spec('rpc-tb', 'Python 3 on Test bed (login node)', {
      cluster: 'tb',
      where: 'login'
    }),
    'rpc-other': spec('rpc-other', 'Python 3 on Other (login node)', {
      cluster: 'other',
      where: 'login'
    })
  }
};

function option(name: string, selected = false) {
  return {
    text: SPECS.kernelspecs[name]!.display_name,
    value: JSON.stringify({ name }),
    ...(selected ? { selected } : {})
  };
}

/** What Lab's kernelOptions gives for a Python notebook (language known). */
function labOptions(): KernelOptions {
  return {
    disabled: false,
    groups: [
      {
        label: 'Start Python Kernel',
        options: [
          option('python3', true),
          option('rpc-other'),
          option('rpc-tb'),
          option('rpc-tb-gpu')
        ]
      },
      {
        label: 'Use No Kernel',
        options: [{ text: 'No Kernel', value: 'null' }]
      },
      { label: 'Start Kernel', options: [] },
      {
        label: 'Connect to Existing Python Kernel',
        options: [
          { text: 'a.ipynb (1234)', value: JSON.stringify({ id: '1234-5' }) }
        ]
      }
    ]
  };
}

describe('clusterOfPath', () => {
  it('finds the cluster of a drive path', () => {
    expect(clusterOfPath('rpc-tb:home/x/a.ipynb')).toBe('tb');
    expect(clusterOfPath('rpc-my.hpc:a.ipynb')).toBe('my.hpc');
  });
  it('is null elsewhere', () => {
    expect(clusterOfPath('home/a.ipynb')).toBeNull();
    expect(clusterOfPath('a.ipynb')).toBeNull();
    expect(clusterOfPath('other:a.ipynb')).toBeNull();
    expect(clusterOfPath('rpc-:a.ipynb')).toBeNull();
  });
});

describe('clusterSpecs', () => {
  it("lists the cluster's kernels, the login node's first", () => {
    expect(clusterSpecs(SPECS, 'tb')).toEqual(['rpc-tb', 'rpc-tb-gpu']);
    expect(clusterSpecs(SPECS, 'other')).toEqual(['rpc-other']);
    expect(clusterSpecs(SPECS, 'nowhere')).toEqual([]);
    expect(clusterSpecs(null, 'tb')).toEqual([]);
  });
});

describe('clusterFirst', () => {
  it("puts the cluster's kernels in a group of their own at the top", () => {
    const out = clusterFirst(labOptions(), ['rpc-tb', 'rpc-tb-gpu'], 'On tb');
    expect(out.groups.map(g => g.label)).toEqual([
      'On tb',
      'Start Python Kernel',
      'Use No Kernel',
      'Start Kernel',
      'Connect to Existing Python Kernel'
    ]);
    expect(out.groups[0].options.map(o => o.text)).toEqual([
      'Python 3 on Test bed (login node)',
      'Python 3 on Test bed, GPU node'
    ]);
    expect(out.groups[1].options.map(o => o.text)).toEqual([
      'Python 3 (ipykernel)',
      'Python 3 on Other (login node)'
    ]);
    // the selection stays where Lab put it; running kernels stay
    expect(out.groups[1].options[0].selected).toBe(true);
    expect(out.groups[4].options).toHaveLength(1);
  });

  it('drops a group it emptied', () => {
    const options = labOptions();
    options.groups[0].options = [option('rpc-tb')];
    const out = clusterFirst(options, ['rpc-tb'], 'On tb');
    expect(out.groups.map(g => g.label)).toEqual([
      'On tb',
      'Use No Kernel',
      'Start Kernel',
      'Connect to Existing Python Kernel'
    ]);
  });

  it('changes nothing without kernels of the cluster or when disabled', () => {
    const options = labOptions();
    expect(clusterFirst(options, [], 'x')).toBe(options);
    expect(clusterFirst(options, ['rpc-gone'], 'x')).toBe(options);
    const disabled = { ...options, disabled: true };
    expect(clusterFirst(disabled, ['rpc-tb'], 'x')).toBe(disabled);
  });
});
