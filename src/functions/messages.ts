/**
 * Validation messages written for people: "Enter a value for lon" rather
 * than ajv's "must have required property 'lon'" (kept apart from React so
 * they can be tested without a DOM).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * What a message is made from: ajv's keyword (`name`), its `params` and its
 * message (which names the field by its label, in quotes).
 */
export interface IValidationError {
  name?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/**
 * A message for people for one validation error (ajv's own when the keyword
 * has no better wording).
 */
export function humanMessage(
  error: IValidationError,
  trans: Pick<TranslationBundle, '__'>
): string {
  const params = error.params ?? {};
  const limit = params.limit;
  const original = error.message ?? '';
  switch (error.name) {
    case 'required': {
      const label =
        /'([^']+)'/.exec(original)?.[1] ?? String(params.missingProperty ?? '');
      return trans.__('Enter a value for %1', label.replace(/ \*$/, ''));
    }
    case 'minimum':
      return trans.__('Enter %1 or more', limit);
    case 'maximum':
      return trans.__('Enter %1 or less', limit);
    case 'exclusiveMinimum':
      return trans.__('Enter more than %1', limit);
    case 'exclusiveMaximum':
      return trans.__('Enter less than %1', limit);
    case 'multipleOf':
      return trans.__('Enter a multiple of %1', params.multipleOf);
    case 'minLength':
      return trans.__('Enter at least %1 characters', limit);
    case 'maxLength':
      return trans.__('Enter at most %1 characters', limit);
    case 'minItems':
      return trans.__('Add at least %1 items', limit);
    case 'maxItems':
      return trans.__('Keep at most %1 items', limit);
    case 'uniqueItems':
      return trans.__('Remove the repeated items');
    case 'pattern':
      return trans.__('Enter text of the form %1', params.pattern);
    case 'enum': {
      const allowed = params.allowedValues;
      return Array.isArray(allowed)
        ? trans.__('Choose one of: %1', allowed.map(v => String(v)).join(', '))
        : trans.__('Choose one of the listed values');
    }
    case 'const':
      return trans.__('Enter %1', params.allowedValue);
    case 'format':
      switch (params.format) {
        case 'date':
          return trans.__('Enter a date (YYYY-MM-DD)');
        case 'date-time':
          return trans.__('Enter a date and time');
        case 'time':
          return trans.__('Enter a time');
        default:
          return trans.__('Enter a valid %1', params.format);
      }
    case 'type': {
      const type = Array.isArray(params.type)
        ? params.type.join(' or ')
        : String(params.type ?? '');
      switch (type) {
        case 'integer':
          return trans.__('Enter a whole number');
        case 'number':
          return trans.__('Enter a number');
        case 'string':
          return trans.__('Enter text');
        case 'boolean':
          return trans.__('Choose yes or no');
        default:
          return original;
      }
    }
    default:
      return original;
  }
}
