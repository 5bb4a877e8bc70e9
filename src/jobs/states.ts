/**
 * Job states, with no dependencies but the REST contract's types (usable from
 * pure logic and tests).
 */
import type { JobState } from '../shared/openapi';

/**
 * Our job states (`raw_state` keeps the scheduler's own word): the REST
 * contract's.
 */
export type { JobState };

/**
 * The states of a job that has not ended yet.
 */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set<JobState>([
  'pending',
  'held',
  'running',
  'completing',
  'suspended'
]);

/**
 * Whether a job has not ended yet.
 */
export function isActive(state: JobState): boolean {
  return ACTIVE_STATES.has(state);
}
