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
