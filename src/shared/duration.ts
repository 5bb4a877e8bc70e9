/**
 * The two ways the front end writes a duration in seconds; they differ on
 * purpose: a call lasts milliseconds to minutes (`12 ms`, `3.4 s`), a job
 * minutes to days and is read next to Slurm's own output (`2-03:00:00`).
 */

/**
 * How long a function call took, for people: `12 ms` below a second, `3.4 s`
 * (one decimal below ten seconds), `42 s`, then `2:05` or `1:02:05`.
 */
export function formatCallDuration(seconds: number): string {
  if (seconds < 1) {
    return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = `${total % 60}`.padStart(2, '0');
  return h ? `${h}:${`${m}`.padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * A job's time (elapsed, limit, CPU time) as Slurm writes it: `45s`, `12:05`
 * (m:ss), `3:02:01` (h:mm:ss) or `2-03:00:00` (days); empty for `null`,
 * `undefined` or a non-finite number.
 */
export function formatJobDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) {
    return `${total}s`;
  }
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number): string => `${n}`.padStart(2, '0');
  if (days > 0) {
    return `${days}-${pad(h)}:${pad(m)}:${pad(s)}`;
  }
  if (h > 0) {
    return `${h}:${pad(m)}:${pad(s)}`;
  }
  return `${m}:${pad(s)}`;
}
