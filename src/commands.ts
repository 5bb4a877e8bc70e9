/**
 * The command IDs of jupyter-rpc.
 */
export namespace CommandIDs {
  /** Show and activate the "Remote functions" panel. */
  export const openFunctions = 'jupyter-rpc:open-functions';

  /** Reload the backends and their functions. */
  export const refreshFunctions = 'jupyter-rpc:refresh-functions';
}
