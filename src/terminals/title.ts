/**
 * What a terminal's tab says.
 */

/**
 * The tab title of a terminal: `user@cluster: folder` (`user@cluster: job 123`
 * for a shell on a job's node).
 */
export function terminalTitle(
  user: string,
  cluster: string,
  cwd: string,
  job = ''
): string {
  if (job) {
    return `${user ? `${user}@` : ''}${cluster}: job ${job}`;
  }
  const folder = cwd.replace(/\/+$/, '').split('/').pop() || '~';
  return `${user ? `${user}@` : ''}${cluster}: ${folder}`;
}
