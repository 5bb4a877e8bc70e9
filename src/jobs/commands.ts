/**
 * The command that opens the submit dialog (arguments: `cluster`, and `path` of a
 * script on it or `job` whose script and resources fill the dialog).
 */
export const SUBMIT_JOB = 'jupyter-rpc:submit-job';
