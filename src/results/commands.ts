/**
 * The command that opens a call's result in the main area
 * (`{ callId, activate? }`), defined by the results plugin.
 */
export const OPEN_RESULT = 'jupyter-rpc:open-result';
