/**
 * What a terminal's tab says.
 */

/**
 * The tab title of a terminal: `user@cluster: folder`.
 */
export function terminalTitle(
  user: string,
  cluster: string,
  cwd: string
): string {
  const folder = cwd.replace(/\/+$/, '').split('/').pop() || '~';
  return `${user ? `${user}@` : ''}${cluster}: ${folder}`;
}
