import { jobFolder, jobTerminalEntries } from '../terminal';
import { job } from './jobInfo';

const SLURM = { kind: 'ssh', scheduler: 'slurm' };

describe('the terminal entries of a job', () => {
  it('opens a terminal in the working directory, else the output’s folder', () => {
    expect(jobFolder(job({ id: '1', workdir: '/home/u/run' }))).toBe(
      '/home/u/run'
    );
    expect(jobFolder(job({ id: '1', stdout: '/scratch/u/out-1.txt' }))).toBe(
      '/scratch/u'
    );
    expect(
      jobTerminalEntries(
        'here',
        { kind: 'local', scheduler: 'local' },
        job({ id: '5', state: 'completed', workdir: '/srv/jobs/5' })
      )
    ).toEqual([
      { kind: 'folder', args: { cluster: 'here', cwd: '/srv/jobs/5' } }
    ]);
  });

  it('offers no folder entry without an absolute folder', () => {
    expect(jobTerminalEntries('c', SLURM, job({ id: '2' }))).toEqual([]);
    expect(
      jobTerminalEntries('c', SLURM, job({ id: '2', workdir: 'relative' }))
    ).toEqual([]);
  });

  it('offers a shell on the node only for a running Slurm job over SSH', () => {
    const running = job({ id: '77', state: 'running', workdir: '/home/u' });
    expect(jobTerminalEntries('hpc', SLURM, running)).toEqual([
      { kind: 'folder', args: { cluster: 'hpc', cwd: '/home/u' } },
      { kind: 'node', args: { cluster: 'hpc', job: '77' } }
    ]);
    const task = job({ id: '77_3', state: 'running' });
    expect(jobTerminalEntries('hpc', SLURM, task)).toEqual([
      { kind: 'node', args: { cluster: 'hpc', job: '77_3' } }
    ]);
    for (const state of ['pending', 'held', 'completed', 'failed'] as const) {
      expect(
        jobTerminalEntries('hpc', SLURM, job({ id: '77', state }))
      ).toEqual([]);
    }
    // Slurm on this computer, the local scheduler, an unknown cluster: no node
    for (const info of [
      { kind: 'local', scheduler: 'slurm' },
      { kind: 'local', scheduler: 'local' },
      undefined
    ]) {
      expect(
        jobTerminalEntries('c', info, job({ id: '8', state: 'running' }))
      ).toEqual([]);
    }
    // a pending array range is no job to open a shell in
    expect(
      jobTerminalEntries('hpc', SLURM, job({ id: '9_[1-4]', state: 'running' }))
    ).toEqual([]);
  });
});
