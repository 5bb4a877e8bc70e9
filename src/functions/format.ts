import type { TranslationBundle } from '@jupyterlab/translation';
import type { JSONSchema7 } from 'json-schema';
import type { CallState, ICall, IFunctionSpec } from './api';
import { isPythonIdentifier, pythonLiteral } from './python';
import { childSchema } from './schema';

/**
 * The seconds a call took (server-side duration once finished, else the
 * browser's clock since it was started).
 */
export function callSeconds(
  call: ICall,
  startedAt: number | undefined,
  now: number
): number | null {
  if (call.duration !== null && call.duration !== undefined) {
    return call.duration;
  }
  if (startedAt !== undefined) {
    return (now - startedAt) / 1000;
  }
  return null;
}

/**
 * A translated label for a call state.
 */
export function stateLabel(state: CallState, trans: TranslationBundle): string {
  switch (state) {
    case 'pending':
      return trans.__('Waiting');
    case 'running':
      return trans.__('Running');
    case 'succeeded':
      return trans.__('Succeeded');
    case 'failed':
      return trans.__('Failed');
    case 'cancelled':
      return trans.__('Cancelled');
  }
}

/**
 * `a=2, b=40` (for a method: `start=10.0 · values=[1.0]`).
 */
export function summarizeArguments(
  args: Record<string, unknown>,
  spec: IFunctionSpec | undefined
): string {
  const root: JSONSchema7 = spec?.schema ?? {};
  const kwargs = (
    obj: Record<string, unknown>,
    schema: JSONSchema7 | undefined
  ): string =>
    Object.entries(obj)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => {
        const literal = pythonLiteral(v, childSchema(schema, k, root), root);
        return isPythonIdentifier(k) ? `${k}=${literal}` : `${k}: ${literal}`;
      })
      .join(', ');
  if (spec?.kind === 'method') {
    const { function: fn, ...ctor } = args;
    const fnArgs =
      fn && typeof fn === 'object' ? (fn as Record<string, unknown>) : {};
    return [
      kwargs(ctor, root),
      kwargs(fnArgs, childSchema(root, 'function', root))
    ]
      .filter(Boolean)
      .join(' · ');
  }
  return kwargs(args, root);
}

/**
 * A problem list line for a value path: `a: must be <= 100`.
 */
export function pathMessage(
  path: ReadonlyArray<string | number>,
  message: string
): string {
  const where = path.map(p => `${p}`).join('.');
  return where ? `${where}: ${message}` : message;
}
