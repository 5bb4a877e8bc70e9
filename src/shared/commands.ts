/**
 * What the commands of every feature have in common: how they describe
 * their arguments (`describedBy`).
 */
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
