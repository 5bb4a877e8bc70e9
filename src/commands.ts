/**
 * The command IDs of jupyter-rpc.
 */
export namespace CommandIDs {
  /** Show and activate the "Remote functions" panel. */
  export const openFunctions = 'jupyter-rpc:open-functions';

  /** Reload the backends and their functions. */
  export const refreshFunctions = 'jupyter-rpc:refresh-functions';
}

/**
 * `describedBy` of a command that takes no arguments.
 */
export const NO_ARGS = { args: { type: 'object', properties: {} } } as const;

/**
 * `describedBy` of a command that opens a side panel (its palette entry passes
 * `isPalette`, shown as its label without the icon).
 */
export const PANEL_ARGS = {
  args: {
    type: 'object',
    properties: {
      isPalette: {
        type: 'boolean',
        description:
          'Whether the command is shown in the command palette (its label, no icon)'
      }
    }
  }
} as const;
