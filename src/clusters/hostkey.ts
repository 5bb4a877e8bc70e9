/**
 * The host key fields of an SSH error (no DOM, no Lab: usable anywhere).
 */

/**
 * The host key of an `ssh.host_unknown` / `ssh.host_key_changed` error.
 */
export interface IHostKey {
  host: string;
  port: number | null;
  key_type: string;
  fingerprint: string;
}

/**
 * Read the host key fields of an error's `details`.
 */
export function hostKeyOf(details: Record<string, unknown> | null): IHostKey {
  const d = details ?? {};
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    host: str(d.host),
    port: typeof d.port === 'number' ? d.port : null,
    key_type: str(d.key_type),
    fingerprint: str(d.fingerprint)
  };
}
