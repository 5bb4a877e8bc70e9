/**
 * Noticing jobs that ended between two polls, and folding them into the
 * notifications the user sees (one per job, one per array). Pure functions.
 */
import type { IJobInfo } from './api';
import { isActive } from './states';
import type { JobState } from './states';

/**
 * A job that left an active state between two polls.
 */
export interface IJobEnd {
  /** The job as last seen (its final state, or as fetched). */
  job: IJobInfo;
  /** The state it had before. */
  previous: JobState;
}

/**
 * The user's jobs that were active in `before` and are not in `after`.
 *
 * Jobs missing from `after` are returned in `missing` (the caller may
 * fetch their final state); pending array placeholders (`123_[5-9]`) that
 * vanish because their tasks started are not.
 */
export function endedJobs(
  before: ReadonlyArray<IJobInfo>,
  after: ReadonlyArray<IJobInfo>,
  user: string | null
): { ended: IJobEnd[]; missing: IJobInfo[] } {
  const now = new Map(after.map(j => [j.id, j]));
  const ended: IJobEnd[] = [];
  const missing: IJobInfo[] = [];
  for (const old of before) {
    if (!isActive(old.state) || (user && old.user && old.user !== user)) {
      continue;
    }
    const next = now.get(old.id);
    if (next) {
      if (!isActive(next.state)) {
        ended.push({ job: next, previous: old.state });
      }
    } else if (!old.id.includes('[')) {
      missing.push(old);
    }
  }
  return { ended, missing };
}

/**
 * One notification: a single job, or several tasks of one array.
 */
export interface IEndNotice {
  /** The job to show ("Show" opens it): the job, or the array's first task. */
  job: IJobInfo;
  /** The array id when several tasks ended together. */
  arrayId: string;
  /** The ended jobs this notice covers. */
  jobs: IJobInfo[];
  /** `success` when all completed, `error` when any failed / timed out, else `info`. */
  kind: 'success' | 'error' | 'info';
}

/**
 * Fold ended jobs into notices: one per job, one per array.
 */
export function endNotices(ends: ReadonlyArray<IJobEnd>): IEndNotice[] {
  const notices: IEndNotice[] = [];
  const arrays = new Map<string, IEndNotice>();
  for (const { job } of ends) {
    if (job.array_job_id) {
      const existing = arrays.get(job.array_job_id);
      if (existing) {
        existing.jobs.push(job);
        continue;
      }
      const notice: IEndNotice = {
        job,
        arrayId: job.array_job_id,
        jobs: [job],
        kind: 'info'
      };
      arrays.set(job.array_job_id, notice);
      notices.push(notice);
    } else {
      notices.push({ job, arrayId: '', jobs: [job], kind: 'info' });
    }
  }
  for (const n of notices) {
    if (n.jobs.every(j => j.state === 'completed')) {
      n.kind = 'success';
    } else if (
      n.jobs.some(j => j.state === 'failed' || j.state === 'timeout')
    ) {
      n.kind = 'error';
    }
    if (n.arrayId && n.jobs.length === 1) {
      n.arrayId = '';
    }
  }
  return notices;
}
