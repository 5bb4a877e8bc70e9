import type { IJobInfo } from '../api';

/** A job as the server sends it, with the fields a test cares about. */
export function job(fields: Partial<IJobInfo> & { id: string }): IJobInfo {
  return {
    name: 'sim',
    state: 'pending',
    raw_state: '',
    user: 'hpcuser',
    partition: 'debug',
    reason: '',
    submitted: null,
    started: null,
    ended: null,
    expected_start: null,
    elapsed: null,
    time_limit: null,
    nodes: '',
    num_nodes: null,
    cpus: null,
    memory_mb: null,
    gpus: '',
    account: '',
    qos: '',
    workdir: '',
    stdout: '',
    stderr: '',
    exit_code: null,
    signal: null,
    cpu_used: null,
    memory_peak_mb: null,
    command: '',
    array_job_id: '',
    array_task_id: '',
    extra: {},
    ...fields
  };
}
