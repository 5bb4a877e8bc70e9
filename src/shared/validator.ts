/**
 * The one rjsf validator of the forms (the function call form, the submit
 * dialog).
 */
import type { ReadonlyJSONObject } from '@lumino/coreutils';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- kept eager: the forms (CallForm, the submit dialog) render with it synchronously; deferring it needs a loading state in both
import { customizeValidator } from '@rjsf/validator-ajv8';

/**
 * The form validator (ajv 8 with formats). `time` accepts what the browser's
 * time input gives (`HH:MM:SS`, no zone), like pydantic does. Paths
 * (pydantic's `Path`, `FilePath`, `DirectoryPath`) are any text without a NUL:
 * whether they exist is the backend's to check, where it runs.
 */
export const validator = customizeValidator<ReadonlyJSONObject>({
  customFormats: {
    time: /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i,
    path: /^[^\0]*$/,
    'file-path': /^[^\0]*$/,
    'directory-path': /^[^\0]*$/
  }
});
