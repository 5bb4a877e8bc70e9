/**
 * The job spec the submit form sends.
 */
import type { IJobSpec } from './api';

/**
 * Drop empty values so the scheduler's defaults apply.
 */
export function cleanSpec(data: Record<string, unknown>): IJobSpec {
  const spec: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value as object).length === 0
    ) {
      continue;
    }
    if (Array.isArray(value) && value.length === 0) {
      continue;
    }
    spec[key] = value;
  }
  return spec as IJobSpec;
}

/**
 * The environment text of the submit form (one `NAME=value` per line) as the
 * spec's `env`, and what is wrong with its lines.
 */
export function parseEnv(text: string): {
  env: Record<string, string>;
  errors: string[];
} {
  const env: Record<string, string> = {};
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) {
      return;
    }
    const eq = line.indexOf('=');
    const name = eq < 0 ? line.trim() : line.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      errors.push(`${i + 1}: ${line}`);
      return;
    }
    env[name] = line.slice(eq + 1);
  });
  return { env, errors };
}

/**
 * A spec's `env` as the form's text (one `NAME=value` per line).
 */
export function envText(env: unknown): string {
  if (typeof env === 'string') {
    return env;
  }
  if (!env || typeof env !== 'object') {
    return '';
  }
  return Object.entries(env as Record<string, unknown>)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n');
}

/**
 * One validation error of the form (rjsf/ajv), as a person reads it.
 */
export interface IFieldError {
  name?: string;
  params?: Record<string, unknown>;
  message?: string;
}

export function fieldMessage(
  error: IFieldError,
  trans: { __: (msg: string, ...args: unknown[]) => string }
): string {
  const limit = error.params?.limit;
  switch (error.name) {
    case 'minimum':
      return trans.__('Must be at least %1.', String(limit));
    case 'maximum':
      return trans.__(
        'Must be at most %1 (the largest the cluster allows).',
        String(limit)
      );
    case 'type':
      return error.params?.type === 'integer'
        ? trans.__('Must be a whole number.')
        : trans.__('Must be a %1.', String(error.params?.type ?? 'value'));
    case 'maxLength':
      return trans.__('At most %1 characters.', String(limit));
    case 'pattern':
      return trans.__(
        'This value is not accepted here (see the field\u2019s note).'
      );
    case 'enum':
      return trans.__('Choose one of the listed values.');
    default:
      return error.message ?? trans.__('Not a valid value.');
  }
}

/**
 * An rjsf `transformErrors` that says each error as {@link fieldMessage} does
 * (the submit form's and the kernel profiles' dialog).
 */
export function personErrors<E extends IFieldError>(trans: {
  __: (msg: string, ...args: unknown[]) => string;
}): (errors: E[]) => E[] {
  return errors =>
    errors.map(e => ({
      ...e,
      message: fieldMessage(
        { name: e.name, params: e.params, message: e.message },
        trans
      )
    }));
}
