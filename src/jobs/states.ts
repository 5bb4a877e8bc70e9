/**
 * Job states, with no dependencies (usable from pure logic and tests).
 */

/**
 * Our job states (`raw_state` keeps the scheduler's own word).
 */
export type JobState =
  | 'pending'
  | 'held'
  | 'running'
  | 'completing'
  | 'suspended'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'timeout'
  | 'unknown';

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
