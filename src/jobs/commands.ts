/**
 * The command that opens the submit dialog (arguments: `cluster`, and `path` of a
 * script on it or `job` whose script and resources fill the dialog).
 */
export const SUBMIT_JOB = 'jupyter-rpc:submit-job';

/**
 * The command that opens the main-area Jobs view (arguments: `cluster` and `job`
 * to show there), src/jobs/JobsMainView.tsx.
 */
export const OPEN_JOBS_TAB = 'jupyter-rpc:open-jobs-tab';
